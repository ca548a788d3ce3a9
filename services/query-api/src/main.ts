import {
  createGracefulShutdown,
  createLogger,
  EXIT_CONFIG,
  loadConfigOrExit,
} from '@bluelight/service-kit';
import { loadLayeredStandards, StandardsError } from '@bluelight/standards';
import { SERVICE_NAME } from './app.js';
import { queryApiConfigSchema } from './config.js';
import { startQueryApiService } from './service.js';

const config = loadConfigOrExit(queryApiConfigSchema);
const logger = createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });
let standards: ReturnType<typeof loadLayeredStandards>;
try {
  standards = loadLayeredStandards({
    baseDir: config.STANDARDS_DIR,
    userDir: config.STANDARDS_USER_DIR,
    onOverride: (message) => logger.warn({ userDir: config.STANDARDS_USER_DIR }, message),
  });
} catch (error) {
  if (!(error instanceof StandardsError)) throw error;
  const variable = config.STANDARDS_USER_DIR
    ? 'STANDARDS_DIR / STANDARDS_USER_DIR'
    : 'STANDARDS_DIR';
  process.stderr.write(`invalid configuration:\n  ${variable}: ${error.message}\n`);
  process.exit(EXIT_CONFIG);
}
// Longer than a query may take, so requests in hand get their answer before the process exits.
const shutdown = createGracefulShutdown({
  logger,
  timeoutMs: config.QUERY_API_QUERY_TIMEOUT_MS + 10_000,
});
shutdown.installSignalHandlers();

try {
  const service = await startQueryApiService(config, standards, logger);
  shutdown.onShutdown('query-api', service.stop);
  logger.info(
    {
      port: config.QUERY_API_PORT,
      database: config.CLICKHOUSE_DATABASE,
      standards: standards.length,
    },
    'query-api started',
  );
} catch (error) {
  logger.fatal({ err: error }, 'query-api could not start');
  await shutdown.shutdown('start-up failed', 1);
}
