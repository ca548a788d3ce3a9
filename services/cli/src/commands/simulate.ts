import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, createLogger, EXIT_CONFIG } from '@bluelight/service-kit';
import type { Emission } from '@bluelight/simulator';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { loadCommandConfig, UserFacingError } from '../exit-codes.js';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** An ISO 8601 instant, `now`, or a time relative to now such as `-7d`, `-12h`, `+30m`. */
function parseInstant(value: string, nowMs = Date.now()): number {
  if (value === 'now') return nowMs;
  const relative = /^([+-])(\d+)([dhm])$/.exec(value);
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[3] as 'd' | 'h' | 'm'];
    return nowMs + (relative[1] === '-' ? -1 : 1) * Number(relative[2]) * unit;
  }
  if (!/^\d{4}-\d{2}-\d{2}(T.*(Z|[+-]\d{2}:\d{2}))?$/.test(value)) {
    throw new InvalidArgumentError(
      'expected an ISO date or date-time with offset, now, or e.g. -7d',
    );
  }
  const ms = Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`${value} is not a valid date`);
  return ms;
}

function parseSpeed(value: string): number {
  if (value === 'max') return Number.POSITIVE_INFINITY;
  const speed = Number(value);
  if (!Number.isFinite(speed) || speed <= 0) {
    throw new InvalidArgumentError('expected max or a positive number (1 = real time)');
  }
  return speed;
}

function outputTarget<T>(out: string, choose: (out: string) => T): T {
  try {
    return choose(out);
  } catch (error) {
    if (error instanceof ConfigError) throw new UserFacingError(error.message, EXIT_CONFIG);
    if (error instanceof Error && error.name === 'OutputChoiceError') {
      throw new UserFacingError(error.message, 2);
    }
    throw error;
  }
}

interface SimulateOptions {
  profile: string;
  from?: number;
  to?: number;
  speed: number;
  seed: number;
  out: string;
}

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description(
      'generate calls, incidents and appliance availability calibrated to a published year (see docs/simulator.md)',
    )
    .addOption(new Option('--profile <id>', 'the county profile').default('staffordshire-2023-24'))
    .option('--from <when>', 'start: ISO date/time, now, or -7d (default: the profile year)', (v) =>
      parseInstant(v),
    )
    .option('--to <when>', 'end (default: the profile year end at max speed, else never)', (v) =>
      parseInstant(v),
    )
    .option(
      '--speed <speed>',
      '1 = real time (history before now is sent at once), 60 = a minute per second, max',
      parseSpeed,
      Number.POSITIVE_INFINITY,
    )
    .option(
      '--seed <n>',
      'random seed: the same seed gives the same events',
      (v) => {
        if (!/^\d+$/.test(v)) throw new InvalidArgumentError('expected a whole number');
        return Number(v);
      },
      1,
    )
    .option(
      '--out <target>',
      'kafka (KAFKA_BROKERS, KAFKA_TOPIC_PREFIX) or a FILE.ndjson path',
      'kafka',
    )
    .action(async (options: SimulateOptions) => {
      const [{ PROFILES, simulate, simulatorConfigSchema }, { openEventOutput, outputTargetFor }] =
        await Promise.all([import('@bluelight/simulator'), import('@bluelight/event-output')]);
      const config = loadCommandConfig(simulatorConfigSchema);
      const profile = PROFILES[options.profile];
      if (!profile) {
        throw new UserFacingError(
          `unknown profile ${options.profile}; known: ${Object.keys(PROFILES).join(', ')}`,
          2,
        );
      }
      const live = Number.isFinite(options.speed);
      const fromMs = options.from ?? Date.parse(profile.yearStart);
      const toMs = options.to ?? (live ? undefined : Date.parse(profile.yearEnd));
      if (toMs !== undefined && toMs <= fromMs)
        throw new UserFacingError('--to must be after --from', 2);
      if (fromMs < config.EARLIEST_EVENT_TIME.getTime()) {
        throw new UserFacingError(
          `--from: ${new Date(fromMs).toISOString()} is before the earliest event time, ${config.EARLIEST_EVENT_TIME.toISOString()} (EARLIEST_EVENT_TIME): the gateway and the sink would refuse its events`,
          2,
        );
      }

      const logger = createLogger({ service: 'bluelight-simulate', level: 'warn' });
      const target = outputTarget(options.out, outputTargetFor);
      const output = await openEventOutput(target, logger);
      let stopping = false;
      const stop = () => {
        stopping = true;
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);

      const { SingleBar, Presets } = await import('cli-progress');
      const bar =
        !live && toMs !== undefined && process.stderr.isTTY
          ? new SingleBar(
              {
                format:
                  'simulating {bar} {percentage}% | {day} | {events} events | {rate} events/s',
                hideCursor: true,
              },
              Presets.shades_classic,
            )
          : undefined;
      bar?.start(100, 0, { day: '', events: 0, rate: 0 });
      say(
        `simulating ${profile.id} from ${new Date(fromMs).toISOString()} to ${toMs ? new Date(toMs).toISOString() : 'forever'} at ${live ? `${options.speed}×` : 'max speed'}, seed ${options.seed}, into ${output.description}`,
      );

      const startedAt = Date.now();
      // Real time: history before now goes at once, then events go when they happen.
      const anchorSim = options.speed === 1 ? Math.max(fromMs, Date.now()) : fromMs;
      const anchorWall = Date.now();
      let sent = 0;
      const send = async (emissions: Emission[]) => {
        if (emissions.length === 0) return;
        await output.write(emissions.map((emission) => emission.event as never));
        sent += emissions.length;
      };
      try {
        for (const { until, emissions } of simulate({
          profile,
          seed: options.seed,
          fromMs,
          ...(toMs ? { toMs } : {}),
        })) {
          if (stopping) break;
          if (!live) {
            await send(emissions);
          } else {
            let pending: Emission[] = [];
            for (const emission of emissions) {
              const due = anchorWall + (emission.emitAt - anchorSim) / options.speed;
              if (due > Date.now() + 100) {
                await send(pending);
                pending = [];
                while (!stopping && due > Date.now())
                  await sleep(Math.min(due - Date.now(), 1_000));
                if (stopping) break;
              }
              pending.push(emission);
            }
            await send(pending);
          }
          if (bar && toMs) {
            const seconds = (Date.now() - startedAt) / 1000;
            bar.update(
              Math.min(100, Math.round(((Math.min(until, toMs) - fromMs) / (toMs - fromMs)) * 100)),
              {
                day: new Date(Math.min(until, toMs) - 1).toISOString().slice(0, 10),
                events: sent,
                rate: Math.round(sent / Math.max(seconds, 0.001)),
              },
            );
          }
        }
      } finally {
        bar?.stop();
        await output.close();
      }
      say(
        `sent ${sent} events in ${((Date.now() - startedAt) / 1000).toFixed(1)} s${stopping ? ' (stopped)' : ''}`,
      );
    });
}
