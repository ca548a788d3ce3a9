export { applianceFactsSql } from './appliance-facts.js';
export { MigrationError } from './errors.js';
export {
  type AgenciesSql,
  callFactsSql,
  type DaysSql,
  EVERY_AGENCY,
  type InstantsSql,
  incidentFactsSql,
  resourceIntervalsSql,
} from './facts.js';
export { DEFAULT_MIGRATIONS_DIR, loadMigrations, sequenceProblems } from './load.js';
export {
  checkClusterName,
  fillPlaceholders,
  type Migration,
  migrationChecksum,
  normaliseMigrationText,
  parseMigration,
  type Statement,
} from './migration-file.js';
export { CLICKHOUSE_ROLES, type ClickHouseRole, roleStatements } from './roles.js';
export {
  createDatabaseIfMissing,
  type MigrateDownOptions,
  type MigrateUpOptions,
  type MigrationState,
  type MigrationStatus,
  type MigrationStep,
  migrateDown,
  migrateUp,
  migrationStatus,
  type RunnerOptions,
  STATUS_TABLE,
} from './runner.js';
