import { randomBytes } from 'node:crypto';
import { type SenderKeyEntry, sha256Hex } from '../api-keys.js';

/** A UUID v7 (48-bit millisecond time, version 7, variant 10, random rest), as producers make them. */
export function newEventId(): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(Date.now(), 0, 6);
  bytes[6] = 0x70 | ((bytes[6] as number) & 0x0f);
  bytes[8] = 0x80 | ((bytes[8] as number) & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A copy of an example event under a new event id, so it is new to the gateway and to Kafka. */
export function withNewId<T>(event: T): T & { event_id: string } {
  return { ...(structuredClone(event) as T & object), event_id: newEventId() } as T & {
    event_id: string;
  };
}

/** The test senders' keys (plain text, as a sending system holds them). */
export const TEST_KEYS = {
  /** Staffordshire's control room, fire CAD, police CAD and station-end: every valid example. */
  staffs: 'test-key-staffs-3c1f0e9a',
  /** Staffordshire Police's CAD only. */
  police: 'test-key-police-77d2b410',
  /** Staffordshire Fire's CAD only. */
  fire: 'test-key-fire-5e0c2a91',
} as const;

/** The keys file entries for TEST_KEYS: hashes only, as an operator would write them. */
export function testSenderKeys(): SenderKeyEntry[] {
  return [
    {
      id: 'staffs',
      key_sha256: sha256Hex(TEST_KEYS.staffs),
      agencies: ['staffordshire-control', 'staffordshire-fire', 'staffordshire-police'],
      sources: ['staffs-telephony', 'sfrs-cad', 'staffs-police-cad', 'sfrs-station-end'],
    },
    {
      id: 'police-cad',
      key_sha256: sha256Hex(TEST_KEYS.police),
      agencies: ['staffordshire-police'],
      sources: ['staffs-police-cad'],
    },
    {
      id: 'sfrs-cad',
      key_sha256: sha256Hex(TEST_KEYS.fire),
      agencies: ['staffordshire-fire'],
      sources: ['sfrs-cad'],
    },
  ];
}
