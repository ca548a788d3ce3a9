import { EVERY_AGENCY, readableAgencies } from '@bluelight/query-api';
import type { Command } from 'commander';
import { commaList } from '../arguments.js';
import { ExitCode, UserFacingError } from '../exit-codes.js';
import { newQueryKey } from '../keys.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `bluelight query-key`: a new read key for one reader of the query API (a team, a dashboard),
 * scoped to the agencies it may read, and its entry for QUERY_API_KEYS / QUERY_API_KEYS_FILE.
 * The API stores only the hash; the key itself is printed once, for the reader.
 */
export function registerQueryKeyCommand(program: Command): void {
  program
    .command('query-key')
    .description(
      'make a read key for a query-API reader, scoped to agencies, and print it with its keys entry (see docs/query-api.md)',
    )
    .requiredOption('--id <id>', 'the reader id the API logs, e.g. performance-team')
    .requiredOption(
      '--agencies <codes>',
      `comma-separated agencies it may read, e.g. staffordshire-fire; "${EVERY_AGENCY}" alone for every agency`,
      commaList,
    )
    .addHelpText(
      'after',
      `\nExamples:\n  npx bluelight query-key --id performance-team --agencies staffordshire-fire\n  npx bluelight query-key --id inspectorate --agencies '${EVERY_AGENCY}'   # every agency: an administrator's key`,
    )
    .action((options: { id: string; agencies: string[] }) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(options.id)) {
        throw new UserFacingError('--id must be 1–64 letters, digits, . _ or -', ExitCode.usage);
      }
      const agencies = readableAgencies.safeParse(options.agencies);
      if (!agencies.success) {
        const issue = agencies.error.issues[0];
        const where = issue?.path.length
          ? ` (${JSON.stringify(options.agencies[Number(issue.path[0])])})`
          : '';
        throw new UserFacingError(
          `--agencies: ${issue?.message ?? 'invalid'}${where}`,
          ExitCode.usage,
        );
      }
      const { key, entry } = newQueryKey({ id: options.id, agencies: agencies.data });
      say(`key (give it to the reader; it is shown only now): ${key}`);
      say('keys entry (add it to the list in QUERY_API_KEYS_FILE or QUERY_API_KEYS):');
      say(JSON.stringify(entry, null, 2));
    });
}
