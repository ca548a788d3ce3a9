export * from './alerts.js';
export * from './clickhouse-query.js';
export * from './folders.js';
export * from './grafana-reduce.js';
export * from './grafana-versions.js';
export * from './kpi-sql.js';
export * from './output.js';
export * from './sql.js';
