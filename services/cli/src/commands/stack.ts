import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  type ComponentStatus,
  DEFAULT_STACK,
  ensureChromium,
  LocalStack,
  type StackOptions,
} from '@bluelight/local-stack';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ExitCode, UserFacingError } from '../exit-codes.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError('expected a port number between 1 and 65535');
  }
  return port;
}

const nameOption = () =>
  new Option('--name <name>', 'which local stack (each has its own ports and data)').default(
    'default',
  );

function describe(status: ComponentStatus[]): string {
  const width = Math.max(...status.map((component) => component.id.length));
  return status
    .map(
      (component) =>
        `${component.id.padEnd(width)}  ${component.running ? `running (pid ${component.pid})` : 'stopped'}  ${component.endpoint}`,
    )
    .join('\n');
}

/** Export lines for the stack's engines: brokers and URL, and the TLS/SASL files when it has them. */
function envLines(stack: LocalStack): string[] {
  return Object.entries({ ...stack.kafkaClientEnv(), ...stack.clickhouseClientEnv() }).map(
    ([name, value]) => `export ${name}=${value}`,
  );
}

export function registerStackCommands(program: Command): void {
  const stack = program
    .command('stack')
    .description(
      'Run the real Kafka broker and ClickHouse engine locally, without Docker (see docs/local-stack.md)',
    );

  stack
    .command('up')
    .description(
      'start the local stack (downloads what is missing first); does nothing if it is up',
    )
    .addOption(nameOption())
    .addOption(
      new Option('--brokers <count>', 'Kafka brokers: 1, or 3 for fault tests').argParser(
        (value): 1 | 3 => {
          if (value === '1' || value === '3') return Number(value) as 1 | 3;
          throw new InvalidArgumentError('expected 1 or 3');
        },
      ),
    )
    .option('--kafka-port <port>', 'client port of broker 1 (default 9092)', parsePort)
    .option('--clickhouse-port <port>', 'ClickHouse HTTP port (default 8123)', parsePort)
    .addOption(
      new Option(
        '--kafka-security <protocol>',
        "the brokers' listener: PLAINTEXT (default) or SASL_SSL (a CA and SCRAM users made for the stack)",
      ).choices(['PLAINTEXT', 'SASL_SSL']),
    )
    .option('--clickhouse-https', "ClickHouse serves HTTPS with a certificate from the stack's CA")
    .action(async (options: StackOptions & { name: string }) => {
      const local = await LocalStack.open(options);
      const { started, alreadyRunning } = await local.up(say);
      if (started.length === 0) say(`stack "${local.layout.name}" is already running.`);
      else if (alreadyRunning.length > 0) say(`(already running: ${alreadyRunning.join(', ')})`);
      say(describe(await local.status()));
      say('\nTo point services and tests at it:');
      for (const line of envLines(local)) say(`  ${line}`);
    });

  stack
    .command('down')
    .description('stop the local stack gracefully (SIGTERM, then SIGKILL after a grace period)')
    .addOption(nameOption())
    .action(async (options: { name: string }) => {
      const local = await LocalStack.open({ name: options.name });
      await local.down(say);
    });

  stack
    .command('status')
    .description('show which components run; exit code 3 when any is stopped')
    .addOption(nameOption())
    .option('--json', 'print machine-readable JSON')
    .action(async (options: { name: string; json?: boolean }) => {
      const local = await LocalStack.open({ name: options.name });
      const status = await local.status();
      if (options.json)
        say(JSON.stringify({ name: local.layout.name, components: status }, null, 2));
      else say(describe(status));
      if (status.some((component) => !component.running)) process.exitCode = ExitCode.notRunning;
    });

  stack
    .command('logs')
    .description('print the last lines of component logs (all components unless one is named)')
    .argument('[component]', 'kafka-1, kafka-2, kafka-3 or clickhouse')
    .addOption(nameOption())
    .option('-n, --lines <count>', 'lines per component', (value) => Number(value), 50)
    .option('-f, --follow', 'keep printing new lines (Ctrl-C to stop)')
    .action(
      async (
        component: string | undefined,
        options: { name: string; lines: number; follow?: boolean },
      ) => {
        const local = await LocalStack.open({ name: options.name });
        const ids = component ? [component] : local.componentIds();
        for (const id of ids) {
          if (!local.componentIds().includes(id)) {
            throw new UserFacingError(
              `no component "${id}"; this stack has ${local.componentIds().join(', ')}`,
              ExitCode.usage,
            );
          }
        }
        // -F waits for a log to appear; otherwise a missing log is said plainly, not by tail.
        const missing = options.follow ? [] : ids.filter((id) => !existsSync(local.logFile(id)));
        for (const id of missing) {
          process.stderr.write(
            `${id} has no log yet (${local.logFile(id)}): it was never started\n`,
          );
        }
        const files = ids.filter((id) => !missing.includes(id)).map((id) => local.logFile(id));
        if (files.length === 0) {
          throw new UserFacingError(
            `stack "${local.layout.name}" has no logs yet; start it with \`bluelight stack up${
              local.layout.name === DEFAULT_STACK.name ? '' : ` --name ${local.layout.name}`
            }\``,
          );
        }
        // tail(1) already does headers per file and --follow well.
        const tail = spawn(
          'tail',
          ['-n', String(options.lines), ...(options.follow ? ['-F'] : []), ...files],
          { stdio: 'inherit' },
        );
        const code = await new Promise<number | null>((resolve) => tail.on('close', resolve));
        if (code !== 0 && code !== null) process.exitCode = ExitCode.failure;
      },
    );

  stack
    .command('env')
    .description(
      'print export lines for KAFKA_BROKERS and CLICKHOUSE_URL (eval "$(bluelight stack env)")',
    )
    .addOption(nameOption())
    .action(async (options: { name: string }) => {
      const local = await LocalStack.open({ name: options.name });
      for (const line of envLines(local)) say(line);
    });

  stack
    .command('prepare')
    .description(
      'download the Kafka jars and create the chDB virtualenv, without starting anything',
    )
    .addOption(nameOption())
    .option(
      '--browser',
      "also make sure headless Chromium is present (installs Debian's chromium when root), for PDF reports and the browser tests",
    )
    .action(async (options: { name: string; browser?: boolean }) => {
      const local = await LocalStack.open({ name: options.name });
      await local.prepare(say);
      if (options.browser) await ensureChromium(say);
      say('local stack prerequisites are ready.');
    });

  stack
    .command('reset')
    .description('stop the stack and delete all of its data and logs')
    .addOption(nameOption())
    .option('--yes', 'do not ask; required when not run from a terminal')
    .action(async (options: { name: string; yes?: boolean }) => {
      const local = await LocalStack.open({ name: options.name });
      if (!options.yes) {
        if (!process.stdin.isTTY) {
          throw new UserFacingError('refusing to delete data without --yes', ExitCode.usage);
        }
        const { createInterface } = await import('node:readline/promises');
        const prompt = createInterface({ input: process.stdin, output: process.stdout });
        const answer = await prompt.question(
          `Delete all data of stack "${local.layout.name}" in ${local.dir}? [y/N] `,
        );
        prompt.close();
        if (!/^y(es)?$/i.test(answer.trim())) {
          say('nothing deleted.');
          return;
        }
      }
      await local.reset(say);
    });
}
