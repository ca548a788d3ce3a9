import { sha256Hex } from '@bluelight/service-kit';

/** The agencies of the tests' data: two fire services sharing station names, and a police force. */
export const AGENCIES = {
  fire: 'staffordshire-fire',
  police: 'staffordshire-police',
  neighbour: 'cheshire-fire',
} as const;

/** Keys the tests present; the API is configured with their hashes only. */
export const TEST_KEYS = {
  /** Staffordshire's fire service only. */
  dashboards: 'qk_test_dashboards_key_0123456789',
  /** Staffordshire's fire service and police force. */
  analyst: 'qk_test_analyst_key_abcdefghij',
  /** The neighbouring fire service only. */
  neighbour: 'qk_test_neighbour_key_klmnopqrst',
  /** Both fire services. */
  regional: 'qk_test_regional_key_uvwxyz0123',
  /** Every agency (`["*"]`). */
  inspector: 'qk_test_inspector_key_456789abcd',
} as const;

export type TestKey = keyof typeof TEST_KEYS;

const TEST_KEY_AGENCIES: Record<TestKey, string[]> = {
  dashboards: [AGENCIES.fire],
  analyst: [AGENCIES.fire, AGENCIES.police],
  neighbour: [AGENCIES.neighbour],
  regional: [AGENCIES.fire, AGENCIES.neighbour],
  inspector: ['*'],
};

export function testReaders() {
  return (Object.keys(TEST_KEYS) as TestKey[]).map((id) => ({
    id,
    key_sha256: sha256Hex(TEST_KEYS[id]),
    agencies: TEST_KEY_AGENCIES[id],
  }));
}
