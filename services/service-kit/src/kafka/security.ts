import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { SASLOptions } from '@platformatic/kafka';
import type { KAFKA_SASL_MECHANISMS, KAFKA_SECURITY_PROTOCOLS, KafkaEnvConfig } from '../config.js';

export type KafkaSecurityProtocol = (typeof KAFKA_SECURITY_PROTOCOLS)[number];
export type KafkaSaslMechanism = (typeof KAFKA_SASL_MECHANISMS)[number];

/** How a client proves the broker is the broker (TLS) and who the client is (SASL, or a TLS certificate). */
export interface KafkaSecurity {
  protocol: KafkaSecurityProtocol;
  /** PEM text, not paths: read once at start-up by the configuration. */
  tls?: { ca?: string; cert?: string; key?: string; keyPassword?: string };
  sasl?: {
    mechanism: KafkaSaslMechanism;
    username?: string;
    password?: string;
    /** OAUTHBEARER: read again at every authentication, so a renewed token is picked up. */
    tokenFile?: string;
  };
}

/** Where Kafka is and how to reach it, from the validated configuration: the one place it is read. */
export function kafkaConnectionFrom(config: KafkaEnvConfig): {
  brokers: string[];
  security: KafkaSecurity;
} {
  const protocol = config.KAFKA_SECURITY_PROTOCOL ?? 'PLAINTEXT';
  const security: KafkaSecurity = { protocol };
  if (protocol === 'SSL' || protocol === 'SASL_SSL') {
    security.tls = {
      ca: config.KAFKA_SSL_CA_FILE,
      cert: config.KAFKA_SSL_CERT_FILE,
      key: config.KAFKA_SSL_KEY_FILE,
      keyPassword: config.KAFKA_SSL_KEY_PASSWORD,
    };
  }
  if ((protocol === 'SASL_SSL' || protocol === 'SASL_PLAINTEXT') && config.KAFKA_SASL_MECHANISM) {
    security.sasl = {
      mechanism: config.KAFKA_SASL_MECHANISM,
      username: config.KAFKA_SASL_USERNAME,
      password: config.KAFKA_SASL_PASSWORD,
      tokenFile: config.KAFKA_SASL_OAUTHBEARER_TOKEN_FILE,
    };
  }
  return { brokers: config.KAFKA_BROKERS, security };
}

/** The connection options @platformatic/kafka takes, for every client and connection pool. */
export function libraryConnectionOptions(
  security: KafkaSecurity | undefined,
  brokers: string[] = [],
): {
  tls?: TlsOptions;
  tlsServerName?: boolean;
  sasl?: SASLOptions;
} {
  const options: { tls?: TlsOptions; tlsServerName?: boolean; sasl?: SASLOptions } = {};
  if (security?.tls) {
    const { ca, cert, key, keyPassword } = security.tls;
    options.tls = {
      // Without a CA bundle Node checks against its own (the public CAs); the host name is
      // always checked against the certificate.
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      ...(keyPassword ? { passphrase: keyPassword } : {}),
      rejectUnauthorized: true,
    };
    // Send each broker's host name as SNI (Node does not by itself here), which brokers behind
    // a TLS router need; not for IP addresses, which SNI may not carry (RFC 6066).
    if (brokers.some((broker) => isIP(broker.slice(0, broker.lastIndexOf(':'))) === 0)) {
      options.tlsServerName = true;
    }
  }
  if (security?.sasl) {
    const { mechanism, username, password, tokenFile } = security.sasl;
    options.sasl =
      mechanism === 'OAUTHBEARER' && tokenFile
        ? { mechanism, token: () => readFileSync(tokenFile, 'utf8').trim() }
        : { mechanism, username, password };
  }
  return options;
}

/** For logs and errors: how the client connects, never a secret. */
export function describeKafkaSecurity(security: KafkaSecurity | undefined): string {
  if (!security || security.protocol === 'PLAINTEXT') return 'PLAINTEXT';
  const parts: string[] = [security.protocol];
  if (security.sasl) {
    parts.push(
      security.sasl.mechanism === 'OAUTHBEARER'
        ? 'OAUTHBEARER'
        : `${security.sasl.mechanism} as "${security.sasl.username}"`,
    );
  }
  if (security.tls?.cert) parts.push('with a client certificate');
  return parts.join(' ');
}

const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

function* causes(error: unknown, depth = 0): Generator<unknown> {
  if (error === undefined || error === null || depth > 10) return;
  yield error;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) yield* causes(inner, depth + 1);
  }
  const cause = (error as { cause?: unknown }).cause;
  if (cause !== undefined) yield* causes(cause, depth + 1);
}

/** A connection refused for a reason of security: the message says what failed and which variable to check. */
export class KafkaSecurityError extends Error {
  override readonly name = 'KafkaSecurityError';
}

/**
 * When `error` (from connecting) was a TLS or SASL failure, an error saying so plainly: which
 * broker, what was refused and the variables to check; otherwise undefined. The library
 * otherwise reports "Cannot connect to any broker." with the reason several causes deep.
 */
export function explainKafkaSecurityFailure(
  error: unknown,
  brokers: string[],
  security: KafkaSecurity | undefined,
): KafkaSecurityError | undefined {
  const where = `Kafka at ${brokers.join(',')} (${describeKafkaSecurity(security)})`;
  for (const leaf of causes(error)) {
    const { code, message } = leaf as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' ? message : '';
    if (typeof code === 'string' && UNTRUSTED_CERTIFICATE_CODES.has(code)) {
      return new KafkaSecurityError(
        `${where}: TLS refused: the broker's certificate is not trusted (${text}); check KAFKA_SSL_CA_FILE names the CA that signed it`,
        { cause: error },
      );
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return new KafkaSecurityError(
        `${where}: TLS refused: the broker's certificate is not for this host (${text}); KAFKA_BROKERS must use a name the certificate lists`,
        { cause: error },
      );
    }
    if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
      return new KafkaSecurityError(
        `${where}: TLS refused: the broker's certificate is not valid now (${text})`,
        { cause: error },
      );
    }
  }
  for (const leaf of causes(error)) {
    const { code, message } = leaf as { code?: unknown; message?: unknown };
    if (code === 'PLT_KFK_AUTHENTICATION') {
      const detail = [...causes(leaf)]
        .slice(1)
        .map((inner) => (inner as { message?: unknown }).message)
        .find((text) => typeof text === 'string' && text.length > 0);
      const check =
        security?.sasl?.mechanism === 'OAUTHBEARER'
          ? 'check the token in KAFKA_SASL_OAUTHBEARER_TOKEN_FILE'
          : 'check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD (or KAFKA_SASL_PASSWORD_FILE)';
      return new KafkaSecurityError(
        `${where}: SASL authentication failed${detail ? ` (${detail})` : ` (${String(message)})`}; ${check}`,
        { cause: error },
      );
    }
  }
  return undefined;
}
