export * from './api-keys.js';
export * from './clickhouse.js';
export * from './config.js';
export * from './csv.js';
export * from './kafka/kafkajs.js';
export type * from './kafka/types.js';
export * from './logger.js';
export * from './observability.js';
export * from './shutdown.js';
