import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * API keys the way every Bluelight HTTP service keeps them: only the SHA-256 of each key is
 * stored; a presented key is hashed and compared with every stored hash in constant time.
 */

export function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A stored key hash, as configuration gives it (lower-cased). */
export const keySha256 = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be the hex SHA-256 of the key (64 hex digits)')
  .transform((hex) => hex.toLowerCase());

/** An id for the holder of a key: logged (never the key), so kept to a safe alphabet. */
export const keyHolderId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    'must be 1–64 letters, digits, . _ or - (it is logged)',
  );

/** The holders of keys, by the keys' hashes; `identify` tells who presented a key. */
export class HashedKeys<Holder> {
  readonly #entries: { holder: Holder; hash: Buffer }[];

  constructor(entries: { holder: Holder; keySha256: string }[]) {
    this.#entries = entries.map((entry) => ({
      holder: entry.holder,
      hash: Buffer.from(entry.keySha256, 'hex'),
    }));
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The holder of this key, or undefined. Every stored hash is compared, so timing tells nothing. */
  identify(key: string): Holder | undefined {
    const presented = createHash('sha256').update(key, 'utf8').digest();
    let found: Holder | undefined;
    for (const entry of this.#entries) {
      if (timingSafeEqual(presented, entry.hash) && found === undefined) found = entry.holder;
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

/** How `presentedKey` takes a key, as OpenAPI security schemes (either one will do). */
export const API_KEY_SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: 'Authorization: Bearer <key>' },
  apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
} as const;

/**
 * Reports, as config issues on the variable that holds it, a key holder id that appears more
 * than once across the lists (a keys file and an inline variable together), e.g.
 * `reader id "x" appears more than once`.
 */
export function reportRepeatedKeyHolders(
  context: z.RefinementCtx,
  holder: string,
  lists: readonly (readonly [variable: string, entries: readonly { id: string }[] | undefined])[],
): void {
  const seen = new Set<string>();
  for (const [variable, entries] of lists) {
    for (const entry of entries ?? []) {
      if (seen.has(entry.id)) {
        context.addIssue({
          code: 'custom',
          path: [variable],
          message: `${holder} id "${entry.id}" appears more than once`,
        });
      }
      seen.add(entry.id);
    }
  }
}
