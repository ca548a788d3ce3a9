import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalStack, localHome, processAlive } from '@bluelight/local-stack';
import { createGracefulShutdown, createLogger } from '@bluelight/service-kit';
import { type Profile, STAFFORDSHIRE_2023_24 } from '@bluelight/simulator';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { loadCommandConfig } from '../exit-codes.js';
import { ensureLocalKeys } from '../keys.js';
import { MAIN_JOB_DATABASE, MAIN_JOB_STACK } from '../main-job.js';
import {
  runCli,
  SERVICES,
  type ServiceName,
  servicePorts,
  startService,
  stopService,
  waitUntilReady,
} from '../services.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const HEALTH_CHECK_INTERVAL_MS = 5_000;
/** Generous: on a 2-core machine the services' start-up (tsx, Kafka group joins) takes ~10 s. */
const SERVICE_READY_TIMEOUT_MS = 120_000;

const simulatorConfigSchema = z.object({
  /** `off`: a real deployment, fed only by the gateway and imports; `on` (default): the live simulator too. */
  BLUELIGHT_SIMULATOR: z.enum(['on', 'off']).optional(),
});

/**
 * Whether the main job runs the simulator: `--no-simulator` on the command line (`commandLine`
 * false) wins; else BLUELIGHT_SIMULATOR (`on` / `off`, a bad value is a configuration error naming
 * it); else on, so `npm start` on a fresh clone still shows live figures.
 */
export function simulatorWanted(
  commandLine: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  // Read (and so checked) even when the command line decides: a typo is never silently ignored.
  const fromEnvironment = loadCommandConfig(simulatorConfigSchema, env).BLUELIGHT_SIMULATOR;
  if (commandLine !== undefined) return commandLine;
  return fromEnvironment !== 'off';
}

/** The main job's processes, in start order: every service, the simulator only when wanted. */
export function mainJobServices(simulator: boolean): ServiceName[] {
  return (Object.keys(SERVICES) as ServiceName[]).filter(
    (name) => simulator || name !== 'simulator',
  );
}

/**
 * The main job: the whole product running on this machine — Kafka and ClickHouse (the local stack,
 * unless the environment names other engines), the migrations, the services and the live simulator.
 */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'run Bluelight on this machine: Kafka and ClickHouse (the local stack, unless KAFKA_BROKERS and CLICKHOUSE_URL name others), the migrations, the gateway, sink, query API and (unless --no-simulator) the live simulator, until Ctrl-C',
    )
    .addOption(
      new Option(
        '--no-simulator',
        'a real deployment: no simulated events, only what the gateway and imports send (or BLUELIGHT_SIMULATOR=off)',
      ),
    )
    .addOption(
      new Option(
        '--name <name>',
        'which local stack; also names .local/run/<name> (lock, logs, keys)',
      ).default(MAIN_JOB_STACK),
    )
    .action(async (options: { name: string; simulator: boolean }, command: Command) => {
      // Checked before anything starts: a bad BLUELIGHT_SIMULATOR stops the job naming it.
      const simulator = simulatorWanted(
        command.getOptionValueSource('simulator') === 'cli' ? options.simulator : undefined,
      );
      // Everything the job keeps (its lock, logs and keys) is under .local/run/<name>.
      const runDir = path.join(localHome(), 'run', options.name);
      const logDir = path.join(runDir, 'logs');
      await mkdir(logDir, { recursive: true });
      const lockFile = path.join(runDir, 'run.pid');
      if (existsSync(lockFile)) {
        const pid = Number.parseInt(await readFile(lockFile, 'utf8'), 10);
        if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) {
          say(
            `Bluelight is already running (pid ${pid}); stop it with Ctrl-C in its terminal or \`kill ${pid}\`.`,
          );
          return;
        }
      }
      await writeFile(lockFile, `${process.pid}\n`);

      const logger = createLogger({ service: 'bluelight-run', level: 'info' });
      const shutdown = createGracefulShutdown({ logger, timeoutMs: 60_000 });
      shutdown.installSignalHandlers();
      shutdown.onShutdown('release run lock', () => rm(lockFile, { force: true }));

      // Engines named in the environment (a team's cluster, `docker compose up`) are used as they
      // are; otherwise the local stack is started, and stopped again at the end if this run started it.
      const engineEnv = {
        KAFKA_BROKERS: process.env.KAFKA_BROKERS,
        CLICKHOUSE_URL: process.env.CLICKHOUSE_URL,
      };
      const stack =
        engineEnv.KAFKA_BROKERS && engineEnv.CLICKHOUSE_URL
          ? undefined
          : await LocalStack.open({ name: options.name });
      if (stack) {
        const { started } = await stack.up(say);
        if (started.length > 0) {
          // Leave running what someone else started; stop only what this run brought up.
          shutdown.onShutdown('stop local stack', () => stack.down(say));
        }
      } else {
        say(
          `Using the engines in the environment: Kafka ${engineEnv.KAFKA_BROKERS}, ClickHouse ${engineEnv.CLICKHOUSE_URL}`,
        );
      }

      const env: NodeJS.ProcessEnv = {
        ...process.env,
        // The stack's engines, with its TLS and SASL settings when it was made with them.
        ...(engineEnv.KAFKA_BROKERS ? {} : stack?.kafkaClientEnv()),
        ...(engineEnv.CLICKHOUSE_URL ? {} : stack?.clickhouseClientEnv()),
        CLICKHOUSE_DATABASE: process.env.CLICKHOUSE_DATABASE ?? MAIN_JOB_DATABASE,
      };
      const keys = await localKeysUnlessConfigured(runDir, env);
      say(`\nApplying ClickHouse migrations to database ${env.CLICKHOUSE_DATABASE} …`);
      const migrated = await runCli(['migrate'], env);
      if (migrated !== 0) {
        logger.error({ exitCode: migrated }, 'migrations failed; stopping');
        await shutdown.shutdown('migrations failed', 1);
        return;
      }

      const ports = await servicePorts(env);
      const starting: Promise<void>[] = [];
      if (!simulator) {
        say('simulator: off (--no-simulator or BLUELIGHT_SIMULATOR=off); no simulated events');
      }
      for (const name of mainJobServices(simulator)) {
        const logFile = path.join(logDir, `${name}.log`);
        const child = startService(name, env, logFile);
        say(`${name}: started (pid ${child.pid}), log ${logFile}`);
        starting.push(
          waitUntilReady(name, child, ports[name], SERVICE_READY_TIMEOUT_MS).then(
            () => {
              if (ports[name] !== undefined) say(`${name}: ready`);
            },
            (error: Error) => {
              throw new Error(`${error.message}; see ${logFile}`);
            },
          ),
        );
        child.once('exit', (code, signal) => {
          if (shutdown.isShuttingDown) return;
          logger.error(
            { service: name, code, signal, log: logFile },
            'service exited unexpectedly; stopping',
          );
          void shutdown.shutdown(`${name} exited`, 1);
        });
        // Registered after the stack, so services stop first and commit before Kafka goes.
        shutdown.onShutdown(`stop ${name}`, () => stopService(child, 60_000));
      }

      try {
        await Promise.all(starting);
      } catch (error) {
        logger.error({ err: error }, 'a service did not become ready; stopping');
        await shutdown.shutdown('a service did not become ready', 1);
        return;
      }

      say('\nBluelight is running.');
      say(`  export KAFKA_BROKERS=${env.KAFKA_BROKERS}`);
      say(`  export CLICKHOUSE_URL=${env.CLICKHOUSE_URL}`);
      say(`  ingest gateway: http://127.0.0.1:${ports['ingest-gateway']}/docs`);
      say(`  query API:      http://127.0.0.1:${ports['query-api']}/docs`);
      if (keys.gateway) say(`  gateway key (writes for the simulated services): ${keys.gateway}`);
      if (keys.query) {
        const agencies = localReader(STAFFORDSHIRE_2023_24).agencies.join(',');
        say(`  query API read key (reads the simulated services, ${agencies}): ${keys.query}`);
        say(
          `    curl -H "Authorization: Bearer $(cat ${keys.query})" 'http://127.0.0.1:${ports['query-api']}/v1/reports/annual?from=2023-04-01&to=2024-03-31&agency=${agencies}'`,
        );
      }
      if (!simulator && (keys.gateway || keys.query)) {
        // The local keys are the simulated county's; a real service writes and reads as itself.
        say(
          '  for your own agencies, set GATEWAY_API_KEYS_FILE and QUERY_API_KEYS_FILE (bluelight gateway-key, bluelight query-key; docs/security.md)',
        );
      }
      say(`  logs: ${logDir}`);
      say('Press Ctrl-C to stop.');

      if (stack) watchLocalStack(stack, logger, shutdown);
      // Keep the process alive until a signal arrives; shutdown() exits the process.
      await new Promise<never>(() => {});
    });
}

/** Logs, once each, the local-stack components that stop while the job runs. */
function watchLocalStack(
  stack: LocalStack,
  logger: ReturnType<typeof createLogger>,
  shutdown: ReturnType<typeof createGracefulShutdown>,
): void {
  let reported = new Set<string>();
  const watchdog = setInterval(async () => {
    const stopped = (await stack.status()).filter((component) => !component.running);
    const names = new Set(stopped.map((component) => component.id));
    for (const id of names) {
      if (!reported.has(id)) {
        logger.error(
          { component: id, log: stack.logFile(id) },
          'component stopped unexpectedly; see its log',
        );
      }
    }
    reported = names;
  }, HEALTH_CHECK_INTERVAL_MS);
  shutdown.onShutdown('stop watchdog', () => clearInterval(watchdog));
}

/**
 * The keys files the gateway and the query API read. Where the environment configures none, the
 * job makes (once) a producer key and a read key for the simulated services, under `dir`/keys,
 * so both answer out of the box; returns the files holding those keys, to print.
 */
async function localKeysUnlessConfigured(
  dir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ gateway?: string; query?: string }> {
  const gatewayConfigured = Boolean(env.GATEWAY_API_KEYS_FILE || env.GATEWAY_API_KEYS);
  const queryConfigured = Boolean(env.QUERY_API_KEYS_FILE || env.QUERY_API_KEYS);
  if (gatewayConfigured && queryConfigured) return {};
  const keys = await ensureLocalKeys(
    path.join(dir, 'keys'),
    localProducer(STAFFORDSHIRE_2023_24),
    localReader(STAFFORDSHIRE_2023_24),
  );
  if (!gatewayConfigured) env.GATEWAY_API_KEYS_FILE = keys.gatewayKeysFile;
  if (!queryConfigured) env.QUERY_API_KEYS_FILE = keys.queryKeysFile;
  return {
    ...(gatewayConfigured ? {} : { gateway: keys.gatewayKeyFile }),
    ...(queryConfigured ? {} : { query: keys.queryKeyFile }),
  };
}

/** What the main job's simulator writes as: every agency and source of its profile. */
function localProducer(profile: Profile): { agencies: string[]; sources: string[] } {
  return { agencies: Object.values(profile.agencies), sources: Object.values(profile.sources) };
}

/**
 * What the main job's read key may read: the simulated county's agencies, the ones its producer
 * key writes for (its fire service, police force and control room, which the annual report reads
 * together) — no other agency, and not every agency.
 */
function localReader(profile: Profile): { agencies: string[] } {
  return { agencies: Object.values(profile.agencies).sort() };
}
