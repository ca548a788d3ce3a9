export { type EventOutput, type OutputTarget, openEventOutput } from '@bluelight/event-output';
export { type ImporterConfig, importerConfigSchema } from './config.js';
export {
  ImportedEntities,
  type ImportedEntity,
  type Measurability,
  measurabilityWarnings,
} from './imported.js';
export {
  ImportInputError,
  type ImportOptions,
  type ImportProgress,
  type ImportSummary,
  importFiles,
  OutputError,
} from './importer.js';
export {
  BUILT_IN_FORMATS,
  type BuiltInFormat,
  type CompiledMapping,
  compileMapping,
  loadBuiltInMapping,
  loadMappingFile,
  type MappingOverrides,
  OverrideError,
} from './mapping.js';
export { MappingError, type MappingProblem } from './mapping-schema.js';
export { OutputChoiceError, outputTargetFor } from './output.js';
export { createProgressBar } from './progress.js';
export { openRowErrorFile, type RowError, type RowErrorSink } from './row-errors.js';
export { describeWait, type WaitProgress, WaitTimeoutError, waitForFigures } from './wait.js';
