export * from './definition.js';
export * from './load.js';
