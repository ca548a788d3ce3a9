import { sha256Hex } from '@bluelight/service-kit';

/** Keys the tests present; the API is configured with their hashes only. */
export const TEST_KEYS = {
  dashboards: 'qk_test_dashboards_key_0123456789',
  analyst: 'qk_test_analyst_key_abcdefghij',
} as const;

export function testReaders() {
  return [
    { id: 'dashboards', key_sha256: sha256Hex(TEST_KEYS.dashboards) },
    { id: 'analyst', key_sha256: sha256Hex(TEST_KEYS.analyst) },
  ];
}
