import path from 'node:path';
import type { Command } from 'commander';
import { connectReader } from '../clickhouse-reader.js';
import { ExitCode, UserFacingError } from '../exit-codes.js';
import { MAIN_JOB_STACK } from '../main-job.js';

function instant(name: string, value: string): Date {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new UserFacingError(
      `${name}: not an instant: ${value} (e.g. 2024-04-05T12:00:00Z)`,
      ExitCode.usage,
    );
  return date;
}

export function registerDashboardsCommands(program: Command): void {
  const dashboards = program
    .command('dashboards')
    .description('The generated Grafana dashboards (see docs/grafana.md)');
  dashboards
    .command('preview')
    .description(
      'render every dashboard as a static HTML page (no network requests), each panel from its own query on ClickHouse, variables at All',
    )
    .option('--out <dir>', 'where the pages go', path.join('.local', 'previews'))
    .option('--to <instant>', 'end of the time range (ISO 8601; default now)')
    .option(
      '--from <instant>',
      "start of the time range (default: each dashboard's own range, e.g. the last 24 h, before --to)",
    )
    .option('--stack <name>', 'local stack to read when CLICKHOUSE_URL is not set', MAIN_JOB_STACK)
    .action(async (options: { out: string; to?: string; from?: string; stack: string }) => {
      const to = options.to ? instant('--to', options.to) : new Date();
      const from = options.from ? instant('--from', options.from) : undefined;
      if (from && from >= to)
        throw new UserFacingError('--from must be before --to', ExitCode.usage);
      // Loaded on use: Vega and the dashboards' module graph would slow every other command.
      const { writePreviews } = await import('@bluelight/dashboards/preview');
      // Reads only; the queries set their own settings (as the plugin's do), so not readonly=1.
      const { client, where } = await connectReader(
        options.stack,
        'bluelight-dashboards-preview',
        '2',
      );
      try {
        await client.ping().then((answer) => {
          if (!answer.success)
            throw new UserFacingError(`cannot read ${where}: ${answer.error.message}`);
        });
        const written = await writePreviews(
          client,
          path.resolve(options.out),
          { from, to },
          (line) => process.stdout.write(`${line}\n`),
        );
        process.stdout.write(`${written.length} previews in ${path.resolve(options.out)}\n`);
      } finally {
        await client.close();
      }
    });
}
