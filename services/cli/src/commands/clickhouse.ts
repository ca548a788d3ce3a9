import { CLICKHOUSE_ROLES, roleStatements } from '@bluelight/clickhouse-schema';
import {
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

export function registerClickHouseCommands(program: Command): void {
  const clickhouse = program
    .command('clickhouse')
    .description('ClickHouse access: the least-privilege roles of Bluelight (docs/security.md)');

  clickhouse
    .command('roles')
    .description(
      'print (or, with --apply, run as $CLICKHOUSE_USER) the SQL creating the roles bluelight_migrator, bluelight_sink and bluelight_reader for $CLICKHOUSE_DATABASE',
    )
    .option('--apply', 'run the statements (needs a user allowed to create roles and grant)')
    .addHelpText(
      'after',
      `\nThen give each service its own user and one role, e.g.\n  CREATE USER bluelight_sink IDENTIFIED WITH sha256_password BY '…';\n  GRANT bluelight_sink TO bluelight_sink; SET DEFAULT ROLE bluelight_sink TO bluelight_sink;\nRoles:\n${CLICKHOUSE_ROLES.map((role) => `  ${role.name}: ${role.holders}`).join('\n')}\nConnection (--apply): CLICKHOUSE_URL, CLICKHOUSE_USER, CLICKHOUSE_PASSWORD(_FILE), CLICKHOUSE_CA_FILE.`,
    )
    .action(async (options: { apply?: boolean }) => {
      const config = loadCommandConfig(clickhouseConfigSchema);
      const statements = roleStatements(config.CLICKHOUSE_DATABASE);
      if (!options.apply) {
        for (const statement of statements) say(`${statement};`);
        return;
      }
      const client = createClickHouse({
        ...clickhouseConnectionFrom(config),
        application: 'bluelight-clickhouse-roles',
      });
      try {
        for (const statement of statements) {
          await client.command({ query: statement });
          say(`ok  ${statement}`);
        }
      } catch (error) {
        if (error instanceof ClickHouseError) {
          throw new UserFacingError(
            `ClickHouse at ${config.CLICKHOUSE_URL} as ${config.CLICKHOUSE_USER}: ${error.message.trim()}`,
            ExitCode.failure,
          );
        }
        throw error;
      } finally {
        await client.close();
      }
    });
}
