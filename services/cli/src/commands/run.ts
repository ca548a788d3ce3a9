import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalStack, localHome, processAlive } from '@bluelight/local-stack';
import { createGracefulShutdown, createLogger } from '@bluelight/service-kit';
import { type Command, Option } from 'commander';
import { runCli, SERVICES, type ServiceName, startService, stopService } from '../services.js';
import { envLines } from './stack.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const HEALTH_CHECK_INTERVAL_MS = 5_000;

/**
 * The main job: the whole product running on this machine. Today that is the local stack; the
 * pipeline services and the live simulator join it as their issues land.
 */
export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description(
      'run Bluelight on this machine: start the local stack and keep it running until Ctrl-C',
    )
    .addOption(new Option('--name <name>', 'which local stack').default('default'))
    .action(async (options: { name: string }) => {
      await mkdir(localHome(), { recursive: true });
      const lockFile = path.join(localHome(), `run-${options.name}.pid`);
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

      const stack = await LocalStack.open({ name: options.name });
      const { started } = await stack.up(say);
      if (started.length > 0) {
        // Leave running what someone else started; stop only what this run brought up.
        shutdown.onShutdown('stop local stack', () => stack.down(say));
      }

      // Services get the stack's addresses unless the environment already names other engines.
      const env = {
        ...process.env,
        KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? stack.kafkaBrokers.join(','),
        CLICKHOUSE_URL: process.env.CLICKHOUSE_URL ?? stack.clickhouseUrl,
        CLICKHOUSE_DATABASE: process.env.CLICKHOUSE_DATABASE ?? 'bluelight',
      };
      say(`\nApplying ClickHouse migrations to database ${env.CLICKHOUSE_DATABASE} …`);
      const migrated = await runCli(['migrate'], env);
      if (migrated !== 0) {
        logger.error({ exitCode: migrated }, 'migrations failed; stopping');
        await shutdown.shutdown('migrations failed', 1);
        return;
      }

      for (const name of Object.keys(SERVICES) as ServiceName[]) {
        const logFile = path.join(stack.dir, 'logs', `${name}.log`);
        const child = startService(name, env, logFile);
        say(`${name}: started (pid ${child.pid}), log ${logFile}`);
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

      say('\nBluelight is running.');
      for (const line of envLines(stack)) say(`  ${line}`);
      say(
        `  query API: http://127.0.0.1:${process.env.QUERY_API_PORT ?? 8089}/docs (read keys: QUERY_API_KEYS, see docs/query-api.md)`,
      );
      say('Press Ctrl-C to stop.');

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
      // Keep the process alive until a signal arrives; shutdown() exits the process.
      await new Promise<never>(() => {});
    });
}
