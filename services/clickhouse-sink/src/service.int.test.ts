import { freePort } from '@bluelight/local-stack';
import { waitFor } from '@bluelight/test/harness';
import { afterEach, describe, expect, it } from 'vitest';
import { incidentScenario, type TestEvent } from './testing/incident-scenario.js';
import { startTestSink } from './testing/sink-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const START = Date.parse('2024-06-03T07:00:00Z');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format, parsed here rather than with prom-client (the code under test). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[name as string] = value as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The samples named `name` whose labels include `labels`. */
function select(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter(
    (sample) =>
      sample.name === name &&
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
  );
}

/** The value of the one sample named `name` with `labels`; fails when there is not exactly one. */
function one(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = select(samples, name, labels);
  expect(found, `${name} ${JSON.stringify(labels)}`).toHaveLength(1);
  return (found[0] as Sample).value;
}

describe('clickhouse-sink service (real Kafka and ClickHouse)', () => {
  it('serves /healthz, /readyz and /metrics with the batch figures while running', async () => {
    const port = await freePort();
    const startedAt = Date.now();
    const sink = await startTestSink({
      families: 'incidents',
      listen: true,
      env: { SINK_PORT: String(port) },
    });
    cleanups.push(sink.cleanup);
    const url = (route: string) => `http://127.0.0.1:${port}${route}`;
    const topic = sink.families.incidents.topic.name;
    const good = incidentScenario(6, START, 'INC-METRICS').events.flat();
    const missingRiskBand = structuredClone(good[0]) as TestEvent;
    missingRiskBand.event_id = '0190a0b1-0000-7000-8000-0000000000a1';
    delete (missingRiskBand.payload.details as Record<string, unknown>).risk_band;
    await sink.produce(topic, [
      ...good,
      { raw: 'not json at all', key: 'INC-METRICS-0000' },
      missingRiskBand,
    ]);
    const total = good.length + 2;
    await sink.waitUntilCommitted('incidents', total);

    expect((await fetch(url('/healthz'))).status).toBe(200);
    const ready = await fetch(url('/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready' });

    const response = await fetch(url('/metrics'));
    expect(response.status).toBe(200);
    const text = await response.text();
    const samples = parseMetrics(text);
    const family = { family: 'incidents' };

    // Lag: one series per partition that had messages, 0 now that everything was consumed.
    const written = (await sink.admin.endOffsets(topic)).filter(({ offset }) => offset !== '0');
    expect(
      select(samples, 'sink_consumer_lag', family)
        .map(({ labels, value }) => [Number(labels.partition), value])
        .sort((a, b) => (a[0] as number) - (b[0] as number)),
    ).toEqual(written.map(({ partition }) => [partition, 0]));

    // Every message handled once: the batch sizes add up to what was produced.
    expect(one(samples, 'sink_batch_rows_sum', family)).toBe(total);
    const batches = one(samples, 'sink_batch_rows_count', family);
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(total);
    expect(one(samples, 'sink_batch_rows_bucket', { ...family, le: '+Inf' })).toBe(batches);

    expect(one(samples, 'sink_messages_total', { ...family, outcome: 'inserted' })).toBe(
      good.length,
    );
    expect(one(samples, 'sink_messages_total', { ...family, outcome: 'dead_lettered' })).toBe(2);
    expect(
      select(samples, 'sink_dead_letters_total', family)
        .map(({ labels, value }) => [labels.error_class, value])
        .sort(),
    ).toEqual([
      ['contract', 1],
      ['undecodable', 1],
    ]);

    // Insert latency: at least one raw insert timed, at most one per batch, within the test's time.
    const insert = { ...family, step: 'raw_insert' };
    const inserts = one(samples, 'sink_step_duration_seconds_count', insert);
    expect(inserts).toBeGreaterThanOrEqual(1);
    expect(inserts).toBeLessThanOrEqual(batches);
    const seconds = one(samples, 'sink_step_duration_seconds_sum', insert);
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThan((Date.now() - startedAt) / 1000);
    const buckets = select(samples, 'sink_step_duration_seconds_bucket', insert).map(
      ({ value }) => value,
    );
    expect(buckets.at(-1)).toBe(inserts);
    expect([...buckets].sort((a, b) => a - b)).toEqual(buckets);

    // Paused time is exported from the start (0 unless a retry paused consumption).
    const paused = one(samples, 'sink_paused_seconds_total', family);
    if (select(samples, 'sink_retries_total', family).length === 0) expect(paused).toBe(0);
    else expect(paused).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE sink_last_batch_timestamp_seconds gauge$/m);
    const lastBatch = one(samples, 'sink_last_batch_timestamp_seconds', family);
    expect(lastBatch * 1000).toBeGreaterThanOrEqual(startedAt);
  });

  it('on SIGTERM finishes and commits the batches in hand, so a restart re-reads nothing', async () => {
    const sink = await startTestSink({ families: 'incidents', start: false });
    cleanups.push(sink.cleanup);
    const topic = sink.families.incidents.topic.name;
    const port = await freePort();
    const child = sink.spawnProcess({ SINK_FAMILIES: 'incidents', SINK_PORT: String(port) });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await waitFor('the sink to be ready', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      return response?.status === 200;
    });

    const events = incidentScenario(40, START, 'INC-SIGTERM').events.flat();
    await sink.produce(topic, events);
    // Rows in the raw table, not commits: the last unit may still be refreshing or committing.
    await waitFor(
      'every event in ClickHouse',
      async () =>
        (await sink.count('SELECT uniqExact(event_id) AS n FROM incidents_raw')) === events.length,
    );
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });

    // Committed = end offset on every partition (-1 where nothing was ever produced).
    const ends = await sink.admin.endOffsets(topic);
    expect(ends.reduce((sum, { offset }) => sum + Number(offset), 0)).toBe(events.length);
    expect(
      await sink.admin.committedOffsets(`${sink.config.SINK_GROUP_PREFIX}-incidents`, topic),
    ).toEqual(
      ends.map(({ partition, offset }) => ({ partition, offset: offset === '0' ? '-1' : offset })),
    );
    expect(await sink.count('SELECT count() AS n FROM incidents_raw')).toBe(events.length);
  });
});
