import { createHash } from 'node:crypto';

/**
 * A deterministic UUID v7: the time part is the event time (so ids sort by event time, as the
 * contract expects of v7 ids) and the 74 "random" bits are the first bits of a SHA-256 of
 * `identity`. Importing the same row again yields the same id, and downstream de-duplication by
 * event id makes a re-import a no-op.
 */
export function deterministicUuidV7(eventTimeMs: number, identity: string): string {
  const hash = createHash('sha256').update(identity).digest();
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(Math.max(0, Math.trunc(eventTimeMs)), 0, 6);
  bytes.set(hash.subarray(0, 10), 6);
  bytes[6] = 0x70 | ((bytes[6] ?? 0) & 0x0f); // version 7
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f); // RFC 9562 variant
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** What makes an imported event the same event on every import: where it came from and which. */
export function eventIdentity(parts: {
  source: string;
  agency: string;
  record: string;
  rowKey: string;
  eventType: string;
}): string {
  // The unit separator cannot occur in CSV text a CAD system exports, so parts cannot run together.
  return [parts.source, parts.agency, parts.record, parts.rowKey, parts.eventType].join('\u001f');
}
