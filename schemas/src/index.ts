export * from './calls.js';
export * from './common.js';
export * from './envelope.js';
export * from './incidents.js';
export * from './registry.js';
export * from './resources.js';
export type { TopicDefinition } from './topics/types.js';
export * from './validate.js';
