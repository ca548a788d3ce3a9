import type { Logger } from 'pino';
import { PlatformaticKafkaAdmin } from './admin.js';
import { PlatformaticBatchConsumer } from './consumer.js';
import { KafkaEventProducer } from './producer.js';
import type { KafkaSecurity } from './security.js';
import type { BatchConsumer, ConsumerOptions, KafkaAdmin } from './types.js';

export { isGroupMembershipLost } from './errors.js';
export {
  describeKafkaSecurity,
  type KafkaSecurity,
  KafkaSecurityError,
  kafkaConnectionFrom,
} from './security.js';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Connection and request timeouts; defaults suit a broker on the same network. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** How long a producer's send may take, retries included, before it rejects (default 60 s). */
  deliveryTimeoutMs?: number;
  /**
   * TLS and SASL for every connection of every client (unset: PLAINTEXT). Services take it, with
   * the brokers, from kafkaConnectionFrom(config): the one place the variables are read.
   */
  security?: KafkaSecurity;
}

/**
 * The Kafka clients behind Bluelight's interfaces, all on @platformatic/kafka: the producer
 * (./producer.ts), the batch consumer with its own consumer-group membership (./consumer.ts)
 * and the admin client (./admin.ts). See docs/service-kit.md for why.
 */
export function createKafkaClients(settings: KafkaSettings) {
  return {
    producer: (): KafkaEventProducer =>
      new KafkaEventProducer({
        brokers: settings.brokers,
        clientId: settings.clientId,
        logger: settings.logger,
        connectionTimeoutMs: settings.connectionTimeoutMs,
        requestTimeoutMs: settings.requestTimeoutMs,
        deliveryTimeoutMs: settings.deliveryTimeoutMs,
        security: settings.security,
      }),
    consumer: (groupId: string, options?: ConsumerOptions): BatchConsumer =>
      new PlatformaticBatchConsumer(settings, groupId, options),
    admin: (): KafkaAdmin => new PlatformaticKafkaAdmin(settings),
  };
}

export type KafkaClients = ReturnType<typeof createKafkaClients>;
