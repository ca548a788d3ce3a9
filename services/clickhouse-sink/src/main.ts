import { createGracefulShutdown, createLogger, loadConfigOrExit } from '@bluelight/service-kit';
import { SERVICE_NAME } from './app.js';
import { sinkBatching, sinkConfigSchema } from './config.js';
import { startSinkService } from './service.js';

const config = loadConfigOrExit(sinkConfigSchema);
const logger = createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });
const shutdown = createGracefulShutdown({ logger, timeoutMs: 60_000 });
shutdown.installSignalHandlers();

try {
  const service = await startSinkService(config, logger, {
    // A batch that cannot be written stops the process (exit 1) with its offsets uncommitted.
    onFatal: (error) => void shutdown.shutdown(`fatal: ${error.message}`, 1),
  });
  shutdown.onShutdown('sink', service.stop);
  logger.info(
    { port: config.SINK_PORT, families: config.SINK_FAMILIES, batching: sinkBatching(config) },
    'clickhouse-sink started',
  );
} catch (error) {
  logger.fatal({ err: error }, 'clickhouse-sink could not start');
  await shutdown.shutdown('start-up failed', 1);
}
