export * from './reference.js';
export * from './scenario.js';
