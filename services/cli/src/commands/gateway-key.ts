import type { Command } from 'commander';
import { commaList } from '../arguments.js';
import { newGatewayKey } from '../keys.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

/**
 * `bluelight gateway-key`: a new sender key for one sending system of the ingest gateway, and
 * the entry for the gateway's keys file. Only the entry (with the key's hash) is stored by the
 * gateway; the key itself is printed once, for the sending system.
 */
export function registerGatewayKeyCommand(program: Command): void {
  program
    .command('gateway-key')
    .description(
      'make an API key for a system sending to the ingest gateway and print it with its keys-file entry (see docs/ingest-gateway.md)',
    )
    .requiredOption('--id <id>', 'the sender id the gateway logs, e.g. sfrs-cad')
    .requiredOption('--agencies <codes>', 'comma-separated agencies it may write for', commaList)
    .requiredOption('--sources <ids>', 'comma-separated sources it may write from', commaList)
    .action((options: { id: string; agencies: string[]; sources: string[] }) => {
      const { key, entry } = newGatewayKey(options);
      say(`key (give it to the sending system; it is shown only now): ${key}`);
      say('keys-file entry (add it to the list in GATEWAY_API_KEYS_FILE):');
      say(JSON.stringify(entry, null, 2));
    });
}
