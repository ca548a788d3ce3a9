import { type RebuildProgress, rebuildFacts } from '@bluelight/clickhouse-sink';
import {
  type ClickHouseClient,
  ClickHouseError,
  clickhouseConnectionFrom,
  createClickHouse,
  platformConfigSchema,
} from '@bluelight/service-kit';
import type { Command } from 'commander';
import { ExitCode, loadCommandConfig, UserFacingError } from '../exit-codes.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

const clickhouseConfigSchema = platformConfigSchema.pick({
  CLICKHOUSE_URL: true,
  CLICKHOUSE_USER: true,
  CLICKHOUSE_PASSWORD: true,
  CLICKHOUSE_DATABASE: true,
  CLICKHOUSE_CA_FILE: true,
});

const STEP_NAMES: Record<RebuildProgress['step'], string> = {
  views: 'raw partitions through the views',
  revisions: 'revised entities recomputed',
};

/**
 * Reports rebuild progress: a bar per step on a terminal, a line per 10% otherwise (so logs of a
 * scripted run still show it moving).
 */
export async function rebuildProgressReporter() {
  const { SingleBar, Presets } = await import('cli-progress');
  let bar: InstanceType<typeof SingleBar> | undefined;
  let step: RebuildProgress['step'] | undefined;
  let lastTenth = -1;
  return {
    report(progress: RebuildProgress) {
      if (progress.step !== step) {
        bar?.stop();
        step = progress.step;
        lastTenth = -1;
        bar = process.stderr.isTTY
          ? new SingleBar(
              { format: `${STEP_NAMES[step]} {bar} {value}/{total}`, hideCursor: true },
              Presets.shades_classic,
            )
          : undefined;
        bar?.start(progress.total, progress.done);
      }
      bar?.update(progress.done);
      const tenth = progress.total === 0 ? 10 : Math.floor((10 * progress.done) / progress.total);
      if (!bar && tenth > lastTenth) {
        lastTenth = tenth;
        say(`${STEP_NAMES[progress.step]}: ${progress.done} of ${progress.total}`);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

/** Runs `work` against $CLICKHOUSE_DATABASE, turning connection and server failures into messages. */
async function withDatabase<T>(work: (client: ClickHouseClient) => Promise<T>): Promise<T> {
  const config = loadCommandConfig(clickhouseConfigSchema);
  const client = createClickHouse({
    ...clickhouseConnectionFrom(config),
    application: 'bluelight-facts',
    // A rebuild's statements each read a whole raw month.
    requestTimeoutMs: 3_600_000,
  });
  try {
    return await work(client);
  } catch (error) {
    if (error instanceof ClickHouseError) {
      throw new UserFacingError(`ClickHouse at ${config.CLICKHOUSE_URL}: ${error.message.trim()}`);
    }
    if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
      throw new UserFacingError(
        `cannot reach ClickHouse at ${config.CLICKHOUSE_URL}: ${error.message}`,
      );
    }
    throw error;
  } finally {
    await client.close();
  }
}

export function registerFactsCommands(program: Command): void {
  const facts = program
    .command('facts')
    .description(
      'the derived facts ClickHouse keeps from the raw events (see docs/clickhouse-schema.md)',
    );
  facts
    .command('rebuild')
    .description(
      'empty the derived facts of $CLICKHOUSE_DATABASE and rebuild them from its raw events, a raw month at a time, then recompute every revised entity',
    )
    .option('--yes', 'do not ask; required when not run from a terminal')
    .addHelpText(
      'after',
      '\nFigures are incomplete while it runs. A running sink may keep writing: its rows are folded in too.\nConnection: CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DATABASE.',
    )
    .action(async (options: { yes?: boolean }) => {
      if (!options.yes && !process.stdin.isTTY) {
        throw new UserFacingError('refusing to rebuild the facts without --yes', ExitCode.usage);
      }
      if (!options.yes) {
        const { createInterface } = await import('node:readline/promises');
        const prompt = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await prompt.question(
          'Empty the derived facts and rebuild them from the raw events? Figures are incomplete until it ends. [y/N] ',
        );
        prompt.close();
        if (!/^y(es)?$/i.test(answer.trim())) {
          say('nothing rebuilt.');
          return;
        }
      }
      const progress = await rebuildProgressReporter();
      const started = Date.now();
      const result = await withDatabase((client) =>
        rebuildFacts(client, (step) => progress.report(step)),
      ).finally(() => progress.stop());
      say(
        `rebuilt the facts from ${result.partitions} raw partition reads and recomputed ${result.revised} revised entities in ${((Date.now() - started) / 1000).toFixed(1)} s.`,
      );
    });
}
