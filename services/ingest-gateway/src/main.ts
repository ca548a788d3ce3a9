import { createGracefulShutdown, createLogger, loadConfigOrExit } from '@bluelight/service-kit';
import { SERVICE_NAME } from './app.js';
import { gatewayConfigSchema } from './config.js';
import { startGatewayService } from './service.js';

const config = loadConfigOrExit(gatewayConfigSchema);
const logger = createLogger({ service: SERVICE_NAME, level: config.LOG_LEVEL });
// Longer than a produce timeout, so requests in hand get their answer before the process exits.
const shutdown = createGracefulShutdown({
  logger,
  timeoutMs: config.GATEWAY_PRODUCE_TIMEOUT_MS + 20_000,
});
shutdown.installSignalHandlers();

try {
  const service = await startGatewayService(config, logger);
  shutdown.onShutdown('ingest-gateway', service.stop);
  logger.info(
    { port: config.GATEWAY_PORT, topicPrefix: config.KAFKA_TOPIC_PREFIX },
    'ingest-gateway started',
  );
} catch (error) {
  logger.fatal({ err: error }, 'ingest-gateway could not start');
  await shutdown.shutdown('start-up failed', 1);
}
