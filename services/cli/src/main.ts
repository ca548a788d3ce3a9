import { Command, CommanderError } from 'commander';
import { registerClickHouseCommands } from './commands/clickhouse.js';
import { registerDashboardsCommands } from './commands/dashboards.js';
import { registerDataQualityCommand } from './commands/data-quality.js';
import { registerDlqCommands } from './commands/dlq.js';
import { registerFactsCommands } from './commands/facts.js';
import { registerGatewayKeyCommand } from './commands/gateway-key.js';
import { registerImportCommand } from './commands/import.js';
import { registerMigrateCommand } from './commands/migrate.js';
import { registerOperationsCommand } from './commands/operations.js';
import { registerQueryKeyCommand } from './commands/query-key.js';
import { registerReportCommand } from './commands/report.js';
import { registerRunCommand } from './commands/run.js';
import { registerSimulateCommand } from './commands/simulate.js';
import { registerStackCommands } from './commands/stack.js';
import { ExitCode, UserFacingError } from './exit-codes.js';

const program = new Command('bluelight')
  .description(
    'Bluelight: emergency-service call and incident events, Kafka → ClickHouse → Grafana.',
  )
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerStackCommands(program);
registerRunCommand(program);
registerMigrateCommand(program);
registerClickHouseCommands(program);
registerFactsCommands(program);
registerDlqCommands(program);
registerSimulateCommand(program);
registerGatewayKeyCommand(program);
registerQueryKeyCommand(program);
registerImportCommand(program);
registerReportCommand(program);
registerDataQualityCommand(program);
registerOperationsCommand(program);
registerDashboardsCommands(program);

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version output are successes; anything else commander rejects is a usage error.
    const success = ['commander.helpDisplayed', 'commander.version', 'commander.help'];
    process.exitCode = success.includes(error.code) ? ExitCode.ok : ExitCode.usage;
  } else if (error instanceof UserFacingError) {
    process.stderr.write(`bluelight: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    const known = ['StackConfigurationError', 'MissingPrerequisiteError', 'CommandFailedError'];
    const name = error instanceof Error ? error.name : '';
    process.stderr.write(
      `bluelight: ${known.includes(name) ? messageOf(error) : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = ExitCode.failure;
  }
}
