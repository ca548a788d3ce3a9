export { ensureChromium, findChromium, launchChromium, printPdf } from './browser.js';
export {
  ensureKafkaJars,
  ensurePythonEnv,
  KAFKA_VERSION,
  type ProgressReporter,
} from './downloads.js';
export { localHome, repoRoot } from './paths.js';
export { freePort, portIsFree } from './ports.js';
export { MissingPrerequisiteError } from './prerequisites.js';
export { processAlive } from './processes.js';
export { CommandFailedError } from './run-command.js';
export {
  type ComponentKind,
  type ComponentStatus,
  DEFAULT_STACK,
  LocalStack,
  StackConfigurationError,
  type StackLayout,
  type StackOptions,
} from './stack.js';
