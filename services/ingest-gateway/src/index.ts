export { AcceptedEventIds } from './accepted-ids.js';
export { ApiKeys, presentedKey, senderKeyEntry, senderKeyList, sha256Hex } from './api-keys.js';
export { buildApp, type GatewayDeps, KAFKA_RETRY_AFTER_SECONDS, SERVICE_NAME } from './app.js';
export { configuredSenderKeys, type GatewayConfig, gatewayConfigSchema } from './config.js';
export { KEY_ID_HEADER } from './ingest.js';
export { type GatewayService, startGatewayService } from './service.js';
