import { createHash, timingSafeEqual } from 'node:crypto';
import { agencyCode, sourceId } from '@bluelight/schemas';
import { z } from 'zod';

/** One producing system and what it may write; only the SHA-256 of its key is ever stored. */
export const producerEntry = z.strictObject({
  id: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
      'must be 1–64 letters, digits, . _ or - (it is logged and put in a Kafka header)',
    ),
  key_sha256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be the hex SHA-256 of the key (64 hex digits)')
    .transform((hex) => hex.toLowerCase()),
  agencies: z.array(agencyCode).min(1, 'list at least one agency'),
  sources: z.array(sourceId).min(1, 'list at least one source'),
});

export type ProducerEntry = z.infer<typeof producerEntry>;

export const producerList = z.array(producerEntry);

/** A producer whose key was presented and recognised. */
export interface Producer {
  id: string;
  agencies: ReadonlySet<string>;
  sources: ReadonlySet<string>;
}

export function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** The producers' keys, as hashes: a presented key is hashed and compared with each in constant time. */
export class ApiKeys {
  readonly #entries: { producer: Producer; hash: Buffer }[];

  constructor(entries: ProducerEntry[]) {
    this.#entries = entries.map((entry) => ({
      producer: {
        id: entry.id,
        agencies: new Set(entry.agencies),
        sources: new Set(entry.sources),
      },
      hash: Buffer.from(entry.key_sha256, 'hex'),
    }));
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The producer this key belongs to, or undefined. Every stored hash is compared, so timing tells nothing. */
  identify(key: string): Producer | undefined {
    const presented = createHash('sha256').update(key, 'utf8').digest();
    let found: Producer | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(presented, entry.hash) && !found) found = entry.producer;
    }
    return found;
  }
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>`; undefined when neither is usable. */
export function presentedKey(headers: {
  authorization?: string | undefined;
  'x-api-key'?: string | string[] | undefined;
}): string | undefined {
  const bearer = headers.authorization?.match(BEARER)?.[1];
  if (bearer) return bearer;
  const header = headers['x-api-key'];
  const key = (Array.isArray(header) ? header[0] : header)?.trim();
  return key ? key : undefined;
}

/** Why this producer may not write this event (field path and message), or [] when it may. */
export function authorisationErrors(
  producer: Producer,
  event: { agency: string; source: string },
): { path: string; message: string }[] {
  const errors: { path: string; message: string }[] = [];
  if (!producer.agencies.has(event.agency)) {
    errors.push({
      path: 'agency',
      message: `key "${producer.id}" may not write events for agency "${event.agency}"`,
    });
  }
  if (!producer.sources.has(event.source)) {
    errors.push({
      path: 'source',
      message: `key "${producer.id}" may not write events from source "${event.source}"`,
    });
  }
  return errors;
}
