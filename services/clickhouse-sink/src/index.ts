export { SERVICE_NAME } from './app.js';
export {
  SINK_PROFILES,
  type SinkBatching,
  type SinkConfig,
  sinkBatching,
  sinkConfigSchema,
} from './config.js';
export { DeadLetterGuard, DLQ_HEADERS } from './dead-letters.js';
export { FAMILIES, type Family, familiesWithPrefix } from './families.js';
export { decodeBatch } from './processor.js';
export { type RebuildProgress, rebuildFacts, recomputeRevised } from './rebuild.js';
export { type ReplayPolicy, type ReplayResult, replayDeadLetters } from './replay.js';
export { type Lineage, type RawRow, rawRow } from './rows.js';
export { type SinkService, startSinkService } from './service.js';
