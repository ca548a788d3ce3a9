/** Writes docs/benchmarks.md from the newest result of each suite (any may be missing). */

type Result = Record<string, unknown> | undefined;
interface Timing {
  name: string;
  p50Ms: number;
  p95Ms: number;
  runs: number;
}

const number = (value: unknown) =>
  typeof value === 'number' && Number.isFinite(value)
    ? new Intl.NumberFormat('en-GB').format(value)
    : '—';
const verdict = (met: boolean | undefined) =>
  met === undefined ? '—' : met ? 'met' : '**not met**';

/**
 * The page: generated tables from the results, then `analysis` — the hand-written account of what
 * limits each missed target (test/bench/analysis.md), kept across regenerations.
 */
export function benchmarksMarkdown(newest: Record<string, Result>, analysis = ''): string {
  const gateway = newest.gateway as
    | {
        eventsPerSecond: number;
        p50Ms: number;
        p99Ms: number;
        trials: unknown[];
        events: number;
        machine: Record<string, string>;
      }
    | undefined;
  const sink = newest.sink as
    | {
        events: number;
        eventsPerSecond: number;
        peerEventsPerSecond: number;
        ratio: number;
        rawInsertEventsPerSecond: number;
        produceEventsPerSecond: number;
        peer: string;
        backfill: { yearSeconds: number; nationalHours: number };
        machine: Record<string, string>;
      }
    | undefined;
  const latency = newest.latency as
    | {
        p50Ms: number;
        p99Ms: number;
        maxMs: number;
        events: number;
        achievedRate: number;
        machine: Record<string, string>;
      }
    | undefined;
  const history = newest.history as
    | {
        summary: {
          historyYears: number;
          historyEvents: number;
          medianSeconds: number;
          medianStepSecondsPerUnit: number;
          medianClickhouseCpuSeconds: number;
        }[];
        ratios: { stepSecondsPerUnit: number | null; seconds: number | null };
        machine: Record<string, string>;
      }
    | undefined;
  const queries = newest.queries as
    | {
        dataset: {
          counties: number;
          years: number;
          events: number;
          incidents: number;
          calls: number;
          buildSeconds: number;
        };
        api: Timing[];
        panels: Timing[];
        raw: {
          figure: string;
          sameAnswer?: boolean;
          facts?: Timing;
          raw?: Timing;
          ratio?: number;
          error?: string;
        }[];
        withinTarget: number;
        total: number;
        slowest: Timing;
        note?: string;
        machine: Record<string, string>;
      }
    | undefined;
  const machines = [gateway, sink, history, latency, queries]
    .filter((result) => result !== undefined)
    .map((result) => (result as { machine: Record<string, string> }).machine);
  const lines: string[] = [
    '# Benchmarks',
    '',
    '`npm run bench [-- --suite gateway|sink|latency|queries|history|all]` runs the benchmarks on a local stack',
    'of their own (`bench`: a real Kafka broker and the chDB ClickHouse engine) and writes each',
    "suite's results to `test/bench/results/`; this page is rewritten from the newest result of each",
    'suite (`npm run bench -- --help` for the options). Figures are medians; these 2-core machines are',
    'noisy, so read ratios rather than the last digit. Targets are the ones issue 14 set.',
    '',
    '## Machines',
    '',
    '| date | CPUs | memory | Node | Java | Kafka | ClickHouse |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...[...new Map(machines.map((machine) => [machine.date?.slice(0, 10), machine])).values()].map(
      (machine) =>
        `| ${machine.date?.slice(0, 16).replace('T', ' ')} UTC | ${machine.cpus} | ${machine.memoryGiB} GiB | ${machine.node} | ${machine.java} | ${machine.kafka} | ${machine.clickhouse} |`,
    ),
    '',
    '## Summary',
    '',
    '| measure | result | target | |',
    '| --- | --- | --- | --- |',
  ];
  if (gateway) {
    lines.push(
      `| gateway → Kafka, events accepted per second (batches of 500, acks=all, 8 in flight) | ${number(gateway.eventsPerSecond)} | ≥ 20,000 | ${verdict(gateway.eventsPerSecond >= 20_000)} |`,
      `| gateway request latency p50 / p99 (500 events) | ${number(gateway.p50Ms)} / ${number(gateway.p99Ms)} ms | — | |`,
    );
  }
  if (sink) {
    lines.push(
      `| Kafka → ClickHouse, Bluelight sink, events/s over one simulated year (${number(sink.events)} events; raw rows and every fact) | ${number(sink.eventsPerSecond)} | ≥ 50,000 | ${verdict(sink.eventsPerSecond >= 50_000)} |`,
      `| the peer on the same topics and engine: ${sink.peer}, raw rows only | ${number(sink.peerEventsPerSecond)} | | |`,
      `| Bluelight ÷ peer | ${sink.ratio} | ≥ 1.0 | ${verdict(sink.ratio >= 1)} |`,
      `| Bluelight's raw-row inserts alone (time in the raw-insert step), events/s | ${number(sink.rawInsertEventsPerSecond)} | | |`,
      `| simulator → Kafka, events/s | ${number(sink.produceEventsPerSecond)} | | |`,
      `| back-fill of one simulated year through the sink | ${number(sink.backfill.yearSeconds)} s | | |`,
      `| … extrapolated to national scale (0.6 billion events a year) | ${number(sink.backfill.nationalHours)} h | | |`,
    );
  }
  if (history) {
    lines.push(
      ...history.summary.map(
        (row) =>
          `| sink over the same year with ${row.historyYears} year(s) of history (${number(row.historyEvents)} events) stored: step time per unit, wall, ClickHouse CPU | ${number(row.medianStepSecondsPerUnit * 1000)} ms, ${number(row.medianSeconds)} s, ${number(row.medianClickhouseCpuSeconds)} s | | |`,
      ),
      `| … ratio, most history ÷ least (per unit; wall) | ${history.ratios.stepSecondsPerUnit}; ${history.ratios.seconds} | ≤ 1.2 | ${verdict((history.ratios.stepSecondsPerUnit ?? 99) <= 1.2)} |`,
    );
  }
  if (latency) {
    lines.push(
      `| produce → queryable (facts committed) at ${number(latency.achievedRate)} events/s, p50 / p99 | ${number(latency.p50Ms)} / ${number(latency.p99Ms)} ms | p99 ≤ 500 ms | ${verdict(latency.p99Ms <= 500)} |`,
    );
  }
  if (queries) {
    lines.push(
      `| API endpoints, panels and alerts within target (p95 ≤ 100 ms; the annual report ≤ 300 ms) over ${queries.dataset.counties} counties × ${queries.dataset.years} years (${number(queries.dataset.events)} events) | ${queries.withinTarget} of ${queries.total} | all | ${verdict(queries.withinTarget === queries.total)} |`,
      `| slowest: ${queries.slowest.name} | p95 ${number(queries.slowest.p95Ms)} ms | | |`,
      ...queries.raw.map((pair) =>
        pair.error
          ? `| ${pair.figure}: raw events ÷ facts | failed: ${pair.error.slice(0, 120).replace(/\|/g, '/')} | | |`
          : `| ${pair.figure}: raw events ÷ facts, p50 (same answer: ${pair.sameAnswer ? 'yes' : '**no**'}) | ${pair.ratio} (${number(pair.raw?.p50Ms)} ms vs ${number(pair.facts?.p50Ms)} ms) | | |`,
      ),
    );
  }
  lines.push('');
  if (queries) {
    lines.push(
      '## Query latency by endpoint, panel and alert',
      '',
      `Dataset: one county-year from the real pipeline (simulator → Kafka → sink), copied to ${queries.dataset.counties} counties × ${queries.dataset.years} years with their own ids, agencies, stations and dates (${number(queries.dataset.events)} raw events, ${number(queries.dataset.incidents)} incidents, ${number(queries.dataset.calls)} calls; built in ${number(queries.dataset.buildSeconds)} s). API: each standard over a year (none, by month, by station), the incidents page, the annual report, through the query API's HTTP interface. Panels: history dashboards over a year, live ones over the last day, every variable at All.`,
      '',
      ...(queries.note ? [`${queries.note}`, ''] : []),
      '| query | p50 ms | p95 ms |',
      '| --- | --- | --- |',
      ...[...queries.api, ...queries.panels].map(
        (timing) =>
          `| ${timing.name.replace(/\|/g, '\\|')} | ${number(timing.p50Ms)} | ${number(timing.p95Ms)} |`,
      ),
      '',
    );
  }
  lines.push(
    '## How each is measured',
    '',
    '- **gateway**: the gateway as its own process with one producer key; simulated events in batches',
    '  of 500 posted with 8 requests in flight after a warm-up request; accepted events ÷ wall time,',
    "  and each request's latency (the gateway answers only after Kafka acknowledged, acks=all).",
    "- **sink**: a simulated year is written to Kafka once; then Bluelight's sink (its own process,",
    '  fresh consumer groups and database) runs until every message is committed, i.e. raw rows and',
    "  every entity's facts are in ClickHouse. The peer reads the same topics into the same",
    '  ClickHouse: the sink a Node.js user would write with the usual libraries (a KafkaJS consumer,',
    '  one JSONEachRow insert per batch with @clickhouse/client, commit after the insert). The',
    "  official ClickHouse Kafka Connect sink is not on Maven Central, and the embedded engine's",
    '  Kafka table engine stalls after its first read (every later `SELECT` returns nothing), so',
    '  neither could be the peer here. The peer stores raw rows only: no validation, deduplication,',
    '  facts or dead letters. CPU seconds of each process are read from /proc around each run.',
    '- **history**: the same year, new to each database, written by the sink into databases that',
    '  already hold 1 and 10 years of one county (copies of the base year moved back, every fact',
    "  derived by the views and merged); the sink's step time per unit of work is compared.",
    '- **latency**: one event per produce request at the given rate; an event is queryable when the',
    "  sink's committed offset passes it (the sink commits only after the facts are written);",
    '  committed offsets of the three families are polled together every 25 ms.',
    '- **queries**: see above; each query once to warm up, then timed runs, one at a time;',
    '  nearest-rank percentiles.',
    '',
  );
  if (analysis.trim()) lines.push(analysis.trim(), '');
  return `${lines.join('\n')}`;
}
