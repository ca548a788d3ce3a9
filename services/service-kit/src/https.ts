import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpsEnvConfig } from './config.js';

/**
 * Fastify's `https` option when HTTPS_CERT_FILE and HTTPS_KEY_FILE are set (the service then
 * speaks only HTTPS on its port); nothing otherwise (plain HTTP, as before).
 */
export function httpsServerOptions(config: HttpsEnvConfig): {
  https?: { cert: string; key: string };
} {
  if (!config.HTTPS_CERT_FILE || !config.HTTPS_KEY_FILE) return {};
  return { https: { cert: config.HTTPS_CERT_FILE, key: config.HTTPS_KEY_FILE } };
}

/** 127.0.0.0/8, ::1 and IPv4-mapped loopback: this machine (a reverse proxy beside the service). */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

/**
 * With HTTP_REQUIRE_TLS and no certificate of its own, a service answers 403 to any request
 * that reached it in plain HTTP from another machine: only a TLS-terminating proxy on this
 * machine (or a probe on it) may speak plain HTTP to it. Undefined when there is nothing to refuse.
 */
export function refusePlainHttpHook(
  config: HttpsEnvConfig,
): ((request: FastifyRequest, reply: FastifyReply) => Promise<void>) | undefined {
  if (!config.HTTP_REQUIRE_TLS || config.HTTPS_CERT_FILE) return undefined;
  return async (request, reply) => {
    const peer = request.socket.remoteAddress;
    if (isLoopbackAddress(peer)) return;
    request.log.warn({ peer }, 'plain HTTP refused (HTTP_REQUIRE_TLS)');
    // The services' error shape: a stable code and the reason in words.
    await reply.code(403).send({
      error: 'tls_required',
      message: 'plain HTTP is refused from other machines: connect over HTTPS (HTTP_REQUIRE_TLS)',
    });
  };
}
