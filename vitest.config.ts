import { defineConfig } from 'vitest/config';

// Two tiers: unit tests run anywhere in milliseconds; integration tests (*.int.test.ts, and the
// end-to-end tests in test/) talk to a real Kafka and a real ClickHouse, chosen by the harness.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // Unit tests first: they fail fast, before the engines start.
          sequence: { groupOrder: 0 },
          include: [
            'schemas/src/**/*.test.ts',
            'services/*/src/**/*.test.ts',
            'infra/local-stack/src/**/*.test.ts',
            'infra/clickhouse-schema/src/**/*.test.ts',
            'dashboards/src/**/*.test.ts',
            'test/harness/**/*.test.ts',
            'infra/*.test.ts',
          ],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['**/*.int.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', 'test/harness/**/*.test.ts'],
          globalSetup: ['test/harness/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Two cores: engines and tests compete for them; two test files at a time is plenty.
          maxWorkers: 2,
        },
      },
    ],
  },
});
