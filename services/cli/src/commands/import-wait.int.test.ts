import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestSink } from '@bluelight/clickhouse-sink/testing';
import { testEndpoints } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCsvText, SAMPLES } from '../../../importers/src/testing/samples.js';
import { runBluelight } from '../testing/run-cli.js';

/**
 * `bluelight import --wait` against the real stack: Kafka, a sink of the test's own and its
 * ClickHouse database. Without a sink running the wait times out (exit 7); with one, it returns
 * once every imported incident is in the facts — and at that moment the facts hold them all.
 */
let sink: Awaited<ReturnType<typeof startTestSink>>;
let home: string;
beforeAll(async () => {
  sink = await startTestSink({ start: false, families: 'incidents' });
  home = await mkdtemp(path.join(os.tmpdir(), 'bluelight-wait-'));
}, 120_000);
afterAll(async () => {
  await sink?.cleanup();
  await rm(home, { recursive: true, force: true });
});

function bluelightImport(...args: string[]) {
  const endpoints = testEndpoints();
  return runBluelight(home, ['import', 'sffd', SAMPLES.sffd, '--no-progress', ...args], {
    KAFKA_BROKERS: endpoints.kafkaBrokers.join(','),
    KAFKA_TOPIC_PREFIX: sink.config.KAFKA_TOPIC_PREFIX,
    CLICKHOUSE_URL: endpoints.clickhouseUrl,
    CLICKHOUSE_USER: endpoints.clickhouseUser,
    CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
    CLICKHOUSE_DATABASE: sink.db.database,
  });
}

// Counted from the CSV: its incidents, and the units' on-scene times (one arrival event each).
const rows = readCsvText(SAMPLES.sffd);
const incidents = new Set(rows.map((row) => row.cells['Incident Number'])).size;
const arrivals = rows.filter((row) => row.cells['On Scene DtTm']).length;

describe('bluelight import --wait (real Kafka, sink and ClickHouse)', { timeout: 240_000 }, () => {
  it('times out with exit 7 and how far it got when no sink takes the events in', async () => {
    const result = await bluelightImport('--wait', '3');
    expect(result.code).toBe(7);
    expect(result.stderr).toContain(
      `timed out after 3 s waiting for the figures: 0 of ${incidents} incidents in the figures`,
    );
  });

  it('returns once every imported incident is in the figures', async () => {
    await sink.restartSink();
    const result = await bluelightImport('--wait', '180');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`in the figures: ${incidents} of ${incidents} incidents`);
    expect(result.stderr).toMatch(/^waiting: \d+ of \d+ incidents in the figures/m);
    // Read at once: nothing is still on its way.
    expect(
      await sink.count(
        'SELECT count() AS n FROM (SELECT DISTINCT agency, incident_id FROM incident_facts)',
      ),
    ).toBe(incidents);
    expect(
      await sink.count(
        "SELECT count() AS n FROM (SELECT DISTINCT event_id FROM incidents_raw WHERE event_type = 'incident.resource_arrived')",
      ),
    ).toBe(arrivals);
  });
});
