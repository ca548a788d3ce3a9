export { simulatorConfigSchema } from './config.js';
export { IMPERFECTIONS } from './expand.js';
export { PROFILES, type Profile, STAFFORDSHIRE_2023_24 } from './profile.js';
export { type SimulationOptions, simulate } from './simulate.js';
export type { Emission, SimEvent } from './year.js';
