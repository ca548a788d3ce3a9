export * from './availability-kpi.js';
export * from './call-kpi.js';
export * from './days.js';
export * from './definition.js';
export * from './engine.js';
export * from './kpi.js';
export * from './load.js';
export * from './report.js';
