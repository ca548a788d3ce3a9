import { ClickHouseError } from '@bluelight/service-kit';

/**
 * ClickHouse error codes that describe the infrastructure, not the data: the same insert will
 * succeed later (the list follows ClickHouse's Kafka Connect sink).
 */
const RETRIABLE_CLICKHOUSE_CODES = new Set([
  3, // UNEXPECTED_END_OF_FILE
  159, // TIMEOUT_EXCEEDED
  164, // READONLY (a replica in read-only mode)
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY
  252, // TOO_MANY_PARTS
  285, // TOO_FEW_LIVE_REPLICAS
  319, // UNKNOWN_STATUS_OF_INSERT
  425, // SYSTEM_ERROR
  999, // KEEPER_EXCEPTION
]);

const RETRIABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** The dead-letter limit was reached: the sink stops rather than dead-letter a whole topic. */
export class DeadLetterLimitExceeded extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadLetterLimitExceeded';
  }
}

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && RETRIABLE_NETWORK_CODES.has(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Retriable: wait and try the same work again (never dead-letter it). Anything else stops the
 * sink with the batch uncommitted: a bug or a schema mismatch must not eat data.
 */
export function isRetriable(error: unknown): boolean {
  if (error instanceof DeadLetterLimitExceeded) return false;
  if (error instanceof ClickHouseError) {
    // Code 252 is also "too many partitions for a single INSERT block": the same insert fails
    // again however long the sink waits, so it must stop the sink rather than stall it.
    if (/too many partitions for single INSERT block/i.test(error.message)) return false;
    return RETRIABLE_CLICKHOUSE_CODES.has(Number(error.code));
  }
  if (networkCode(error)) return true;
  // KafkaJS marks its own transient errors (leader moved, broker down).
  if ((error as { retriable?: unknown })?.retriable === true) return true;
  const message = error instanceof Error ? error.message : String(error);
  return /socket hang up|timeout|timed out|fetch failed|Service Unavailable|Bad Gateway/i.test(
    message,
  );
}
