export * from './alerts.js';
export * from './clickhouse-query.js';
export * from './kpi-sql.js';
export * from './output.js';
export * from './sql.js';
