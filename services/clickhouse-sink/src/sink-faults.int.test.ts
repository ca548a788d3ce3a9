import type { ChildProcess } from 'node:child_process';
import { freePort } from '@bluelight/local-stack';
import {
  ALL_FACTS,
  canControlEngines,
  startPrivateStack,
  testEndpoints,
  waitFor,
} from '@bluelight/test/harness';
import { afterEach, describe, expect, it } from 'vitest';
import {
  expectedDailyRollup,
  incidentScenario,
  rollupKey,
  type TestEvent,
} from './testing/incident-scenario.js';
import { startTestSink } from './testing/sink-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const START = Date.parse('2024-10-26T18:00:00Z'); // runs across the autumn clocks change
type Sink = Awaited<ReturnType<typeof startTestSink>>;

/** Everything derived must equal what the events imply, with nothing lost or counted twice. */
async function expectExactlyOnce(sink: Sink, scenario: ReturnType<typeof incidentScenario>) {
  const total = scenario.events.flat().length;
  expect(await sink.count('SELECT count() AS n FROM incidents_raw FINAL')).toBe(total);
  expect(await sink.count('SELECT uniqExact(event_id) AS n FROM incidents_raw')).toBe(total);
  expect(await sink.count(`SELECT count() AS n FROM ${ALL_FACTS.incidents}`)).toBe(
    scenario.expected.size,
  );
  expect(await sink.count('SELECT count() AS n FROM dead_letters')).toBe(0);
  const rollup = await sink.db.client.query({
    query: `SELECT toString(day) AS day, station_ground, category, risk_band, police_grading,
              count() AS incidents,
              sumMap(map(toUInt32(ceil(assumeNotNull(dateDiff('millisecond', call_received_at, first_arrival_at)) / 1000)), toUInt64(1))) AS histogram
            FROM ${ALL_FACTS.incidents}
            WHERE cancelled = 0
            GROUP BY day, station_ground, category, risk_band, police_grading`,
    format: 'JSONEachRow',
  });
  // Summed per rollupKey: the rollup's finer keys (life risk, area type) are not compared here.
  const actual = new Map<string, { incidents: number; histogram: Record<string, number> }>();
  for (const row of await rollup.json<
    Parameters<typeof rollupKey>[0] & { incidents: number; histogram: Record<string, number> }
  >()) {
    const group = actual.get(rollupKey(row)) ?? { incidents: 0, histogram: {} };
    group.incidents += row.incidents;
    for (const [bucket, n] of Object.entries(row.histogram)) {
      group.histogram[bucket] = (group.histogram[bucket] ?? 0) + n;
    }
    actual.set(rollupKey(row), group);
  }
  const expected = expectedDailyRollup(scenario.expected.values());
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, group] of expected) {
    expect(actual.get(key), key).toEqual({
      incidents: group.incidents,
      histogram: group.histogram,
    });
  }
}

function startSinkProcess(sink: Sink, port: number): ChildProcess {
  return sink.spawnProcess({
    SINK_FAMILIES: 'incidents',
    SINK_PORT: String(port),
    // Small fetches: many batches, so the kill lands in the middle of the work.
    SINK_FETCH_MAX_BYTES_PER_PARTITION: '16384',
  });
}

describe('clickhouse-sink under faults', () => {
  it('loses nothing and doubles nothing when killed with SIGKILL mid-stream and restarted', async () => {
    // Database and topics are prepared here; a child process runs the sink.
    const sink = await startTestSink({ families: 'incidents', start: false });
    cleanups.push(sink.cleanup);
    const scenario = incidentScenario(300, START, 'INC-KILL');
    const all = scenario.events.flat();
    await sink.produce(sink.families.incidents.topic.name, all);

    const port = await freePort();
    let child = startSinkProcess(sink, port);
    cleanups.push(async () => {
      child.kill('SIGKILL');
    });
    await waitFor(
      'the first rows',
      async () => (await sink.count('SELECT count() AS n FROM incidents_raw')) > 200,
    );
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    const atKill = await sink.count('SELECT count() AS n FROM incidents_raw');
    expect(atKill).toBeLessThan(all.length);

    child = startSinkProcess(sink, port);
    await sink.waitUntilCommitted('incidents', all.length, 120_000);
    await expectExactlyOnce(sink, scenario);
  });

  it.skipIf(!canControlEngines())(
    'pauses while ClickHouse is down for 30 s under load, then catches up losing and dead-lettering nothing',
    async () => {
      const { stack, cleanup } = await startPrivateStack({ components: ['kafka', 'clickhouse'] });
      cleanups.push(cleanup);
      const sink = await startTestSink({
        families: 'incidents',
        endpoints: {
          ...testEndpoints(),
          mode: 'local-stack',
          kafkaBrokers: stack.kafkaBrokers,
          clickhouseUrl: stack.clickhouseUrl,
        },
      });
      cleanups.push(sink.cleanup);
      const scenario = incidentScenario(240, START, 'INC-OUTAGE');
      const waves = scenario.events; // one incident's 8 or 9 events per send, every 150 ms
      const topic = sink.families.incidents.topic.name;
      let sent = 0;
      const producing = (async () => {
        for (const wave of waves) {
          await sink.produce(topic, wave as TestEvent[]);
          sent += wave.length;
          await new Promise((resolve) => setTimeout(resolve, 150));
        }
      })();

      await waitFor(
        'rows before the outage',
        async () => (await sink.count('SELECT count() AS n FROM incidents_raw')) > 0,
      );
      await stack.stop('clickhouse');
      const outageStarted = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 30_000));
      await stack.start('clickhouse');
      const outage = Date.now() - outageStarted;
      await producing;
      expect(sent).toBe(scenario.events.flat().length);
      await sink.waitUntilCommitted('incidents', sent, 120_000);

      expect(sink.fatalErrors).toEqual([]);
      await expectExactlyOnce(sink, scenario);
      const metrics = await sink.service?.app.inject({ url: '/metrics' });
      const paused = /sink_paused_seconds_total\{[^}]*family="incidents"[^}]*\} ([\d.]+)/.exec(
        metrics?.body ?? '',
      );
      // It waited out (most of) the outage paused, rather than failing or dead-lettering.
      expect(Number(paused?.[1])).toBeGreaterThan((outage / 1000) * 0.5);
    },
  );
});
