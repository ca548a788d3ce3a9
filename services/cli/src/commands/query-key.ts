import type { Command } from 'commander';
import { ExitCode, UserFacingError } from '../exit-codes.js';
import { newQueryKey } from '../keys.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `bluelight query-key`: a new read key for one reader of the query API (a team, a dashboard),
 * and its entry for QUERY_API_KEYS / QUERY_API_KEYS_FILE. The API stores only the hash; the key
 * itself is printed once, for the reader.
 */
export function registerQueryKeyCommand(program: Command): void {
  program
    .command('query-key')
    .description(
      'make a read key for a query-API reader and print it with its keys entry (see docs/query-api.md)',
    )
    .requiredOption('--id <id>', 'the reader id the API logs, e.g. performance-team')
    .action((options: { id: string }) => {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(options.id)) {
        throw new UserFacingError('--id must be 1–64 letters, digits, . _ or -', ExitCode.usage);
      }
      const { key, entry } = newQueryKey(options.id);
      say(`key (give it to the reader; it is shown only now): ${key}`);
      say('keys entry (add it to the list in QUERY_API_KEYS_FILE or QUERY_API_KEYS):');
      say(JSON.stringify(entry, null, 2));
    });
}
