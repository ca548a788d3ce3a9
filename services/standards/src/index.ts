// Where every figure reads its facts from (the schema package owns the tables they read).
export {
  type AgenciesSql,
  callFactsSql,
  type DaysSql,
  EVERY_AGENCY,
  type InstantsSql,
  incidentFactsSql,
  resourceIntervalsSql,
} from '@bluelight/clickhouse-schema';
export * from './availability-kpi.js';
export * from './call-kpi.js';
export * from './data-quality.js';
export * from './days.js';
export * from './definition.js';
export * from './engine.js';
export * from './incident-kpi.js';
export * from './kpi-common.js';
export * from './load.js';
export * from './operations/index.js';
export * from './records.js';
export * from './report.js';
export * from './report-charts.js';
export * from './report-operations.js';
