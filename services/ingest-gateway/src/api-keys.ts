import { agencyCode, sourceId } from '@bluelight/schemas';
import { HashedKeys, keySha256 } from '@bluelight/service-kit';
import { z } from 'zod';

export { presentedKey, sha256Hex } from '@bluelight/service-kit';

/** One sending system's key and what it may write; only the SHA-256 of the key is ever stored. */
export const senderKeyEntry = z.strictObject({
  id: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
      'must be 1–64 letters, digits, . _ or - (it is logged and put in a Kafka header)',
    ),
  key_sha256: keySha256,
  agencies: z.array(agencyCode).min(1, 'list at least one agency'),
  sources: z.array(sourceId).min(1, 'list at least one source'),
});

export type SenderKeyEntry = z.infer<typeof senderKeyEntry>;

export const senderKeyList = z.array(senderKeyEntry);

/** A sending system whose key was presented and recognised (not the Kafka producer). */
export interface SenderKey {
  id: string;
  agencies: ReadonlySet<string>;
  sources: ReadonlySet<string>;
}

/** The sending systems' keys, as hashes (the comparison is the service kit's `HashedKeys`). */
export class ApiKeys extends HashedKeys<SenderKey> {
  constructor(entries: SenderKeyEntry[]) {
    super(
      entries.map((entry) => ({
        holder: {
          id: entry.id,
          agencies: new Set(entry.agencies),
          sources: new Set(entry.sources),
        },
        keySha256: entry.key_sha256,
      })),
    );
  }
}

/** Why this sender may not write this event (field path and message), or [] when it may. */
export function authorisationErrors(
  sender: SenderKey,
  event: { agency: string; source: string },
): { path: string; message: string }[] {
  const errors: { path: string; message: string }[] = [];
  if (!sender.agencies.has(event.agency)) {
    errors.push({
      path: 'agency',
      message: `key "${sender.id}" may not write events for agency "${event.agency}"`,
    });
  }
  if (!sender.sources.has(event.source)) {
    errors.push({
      path: 'source',
      message: `key "${sender.id}" may not write events from source "${event.source}"`,
    });
  }
  return errors;
}
