import { createHash } from 'node:crypto';
import {
  allValues,
  evaluateRule,
  provisionedDashboards,
  provisionedRules,
  runPanel,
} from '@bluelight/dashboards/testing';
import { freePort, type LocalStack } from '@bluelight/local-stack';
import { callFactsSql, incidentFactsSql, loadStandards } from '@bluelight/standards';
import { clickhouse, runName, say, startChild, stopChild, waitFor } from '../context.js';
import { percentile, round } from '../stats.js';

export interface Timing {
  name: string;
  p50Ms: number;
  p95Ms: number;
  runs: number;
}

async function timeIt(name: string, runs: number, work: () => Promise<unknown>): Promise<Timing> {
  await work(); // warm-up: caches, connections, JIT
  const samples: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  const timing = {
    name,
    p50Ms: round(percentile(samples, 0.5)),
    p95Ms: round(percentile(samples, 0.95)),
    runs,
  };
  say(`queries: ${JSON.stringify(timing)}`);
  return timing;
}

const YEAR = { from: '2023-04-01', to: '2024-03-31' };
/** The simulated county's agencies, read together (as its annual report reads them). */
const AGENCIES = 'staffordshire-control,staffordshire-fire,staffordshire-police';

/** Every query-API endpoint over the region: each standard per year, by month and by station. */
async function apiTimings(stack: LocalStack, database: string, runs: number) {
  const key = `bench-${runName('reader')}`;
  const port = await freePort();
  const api = startChild('query-api', 'services/query-api/src/main.ts', {
    CLICKHOUSE_URL: stack.clickhouseUrl,
    CLICKHOUSE_DATABASE: database,
    QUERY_API_PORT: String(port),
    // Latency is measured here, one request after another: no per-key limit in the way.
    QUERY_API_RATE_LIMIT_PER_SECOND: '1000000',
    QUERY_API_RATE_LIMIT_BURST: '1000000',
    QUERY_API_KEYS: JSON.stringify([
      {
        id: 'bench',
        key_sha256: createHash('sha256').update(key).digest('hex'),
        agencies: AGENCIES.split(','),
      },
    ]),
  });
  const url = `http://127.0.0.1:${port}`;
  const get = async (path: string) => {
    const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}` } });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.text();
  };
  try {
    await waitFor(
      'the query API to be ready',
      async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true,
      60_000,
    );
    const timings: Timing[] = [];
    timings.push(await timeIt('GET /v1/standards', runs, () => get('/v1/standards')));
    for (const standard of loadStandards()) {
      const groupings = ['none', 'month', ...(standard.subject === 'calls' ? [] : ['station'])];
      for (const groupBy of groupings) {
        const path = `/v1/kpis?standard=${standard.id}&from=${YEAR.from}&to=${YEAR.to}&groupBy=${groupBy}&agency=${AGENCIES}`;
        timings.push(await timeIt(`GET ${path}`, runs, () => get(path)));
      }
    }
    const incidents = `/v1/incidents?from=2024-03-01&to=2024-03-31&limit=100&agency=${AGENCIES}`;
    timings.push(await timeIt(`GET ${incidents}`, runs, () => get(incidents)));
    const report = `/v1/reports/annual?from=${YEAR.from}&to=${YEAR.to}&agency=${AGENCIES}`;
    timings.push(await timeIt(`GET ${report}`, runs, () => get(report)));
    const compared = `${report}&comparePrevious=true`;
    timings.push(await timeIt(`GET ${compared}`, runs, () => get(compared)));
    // The records behind a figure, the data-quality report and the operational analysis: each
    // over the same year (records and data-quality records a page at a time, as a client reads).
    const period = `from=${YEAR.from}&to=${YEAR.to}&agency=${AGENCIES}`;
    const later = [
      `/v1/kpis/records?standard=fire-attendance-standard&${period}&limit=1000`,
      `/v1/kpis/records?standard=fire-attendance-standard&${period}&only=excluded&limit=1000`,
      `/v1/kpis/records?standard=calls-999-answer&${period}&limit=1000`,
      `/v1/data-quality?${period}`,
      `/v1/data-quality/records?${period}&limit=1000`,
      `/v1/operations/appliances?${period}&groupBy=resource`,
      `/v1/operations/appliances?${period}&groupBy=station`,
      `/v1/operations/appliances/records?${period}&limit=1000`,
      `/v1/operations/first-arrivals?${period}`,
      `/v1/operations/concurrency?${period}&groupBy=station_ground&bucket=hour`,
      `/v1/operations/committed-elsewhere?${period}&groupBy=station_ground`,
      `/v1/operations/utilisation?${period}&groupBy=resource`,
      `/v1/operations/utilisation?${period}&groupBy=resource&byHourOfWeek=true`,
      `/v1/operations/cover?${period}&byStation=true`,
    ];
    for (const path of later) timings.push(await timeIt(`GET ${path}`, runs, () => get(path)));
    return timings;
  } finally {
    await stopChild(api);
  }
}

/** Every panel and alert rule query, expanded as Grafana would, over a year or the last day. */
async function panelTimings(stack: LocalStack, database: string, runs: number) {
  const client = clickhouse(stack, database);
  const history = {
    from: new Date('2023-03-31T23:00:00Z'),
    to: new Date('2024-03-31T22:59:59Z'),
    intervalSeconds: 86_400,
  };
  const live = {
    from: new Date('2024-03-30T23:00:00Z'),
    to: new Date('2024-03-31T22:59:59Z'),
    intervalSeconds: 300,
  };
  const timings: Timing[] = [];
  try {
    for (const dashboard of provisionedDashboards()) {
      const range = ['control-room', 'pipeline-health'].includes(dashboard.uid) ? live : history;
      const variables = await allValues(client, dashboard, range);
      for (const panel of dashboard.panels) {
        if (panel.targets.length === 0) continue;
        timings.push(
          await timeIt(`panel ${dashboard.title} / ${panel.title}`, runs, () =>
            runPanel(client, panel, { ...range, variables }),
          ),
        );
      }
    }
    for (const rule of provisionedRules()) {
      timings.push(
        await timeIt(`alert ${rule.title}`, runs, () => evaluateRule(client, rule, live.to)),
      );
    }
  } finally {
    await client.close();
  }
  return timings;
}

/**
 * The same figure from the facts the product reads and from the raw events, to show what the
 * facts save. Both read the county's agencies over the same year; each pair returns the same
 * numbers unless corrections or retractions changed them (the raw reads ignore those; checked
 * and recorded).
 */
async function rawComparisons(stack: LocalStack, database: string, runs: number) {
  const client = clickhouse(stack, database);
  const agencies = `[${AGENCIES.split(',')
    .map((agency) => `'${agency}'`)
    .join(', ')}]`;
  const days = { from: `toDate('${YEAR.from}')`, to: `toDate('2024-04-01')` };
  const value = async (query: string) => {
    const result = await client.query({ query, format: 'JSONEachRow' });
    return result.json<Record<string, number | string>>();
  };
  const pairs = [
    {
      figure: '999 calls answered within 10 s, by London month, over a year',
      facts: `SELECT formatDateTime(toStartOfMonth(presented_at, 'Europe/London'), '%Y-%m') AS month,
          countIf(answered_at IS NOT NULL AND dateDiff('millisecond', presented_at, answered_at) <= 10000) AS within,
          countIf(answered_at IS NOT NULL) AS answered
        FROM (${callFactsSql(days, agencies)})
        WHERE line = '999' AND day >= ${days.from} AND day < ${days.to}
        GROUP BY month ORDER BY month`,
      raw: `SELECT formatDateTime(toStartOfMonth(presented, 'Europe/London'), '%Y-%m') AS month,
          countIf(answered_at IS NOT NULL AND dateDiff('millisecond', presented, answered_at) <= 10000) AS within,
          countIf(answered_at IS NOT NULL) AS answered
        FROM (
          SELECT agency, call_id, anyIf(JSONExtractString(payload, 'line'), event_type = 'call.presented') AS line,
            minIf(occurred_at, event_type = 'call.presented') AS presented,
            minOrNullIf(occurred_at, event_type = 'call.answered') AS answered_at
          FROM calls_raw FINAL
          WHERE agency IN ${agencies}
          GROUP BY agency, call_id
        )
        WHERE line = '999' AND toDate(presented, 'Europe/London') >= ${days.from} AND toDate(presented, 'Europe/London') < ${days.to}
        GROUP BY month ORDER BY month`,
    },
    {
      figure: 'fire incidents by London day and category, over a year',
      facts: `SELECT toString(day) AS d, category, count() AS n
        FROM (${incidentFactsSql(days, agencies)})
        WHERE service = 'fire' AND cancelled = 0 AND call_received_at IS NOT NULL
          AND day >= ${days.from} AND day < ${days.to}
        GROUP BY d, category ORDER BY d, category`,
      raw: `SELECT toString(toDate(received, 'Europe/London')) AS d, category, count() AS n
        FROM (
          SELECT agency, incident_id,
            argMaxIf(JSONExtractString(payload, 'details', 'category', 'type'), occurred_at, event_type IN ('incident.created', 'incident.reclassified')) AS category,
            anyIf(JSONExtractString(payload, 'details', 'service'), event_type = 'incident.created') AS service,
            minIf(parseDateTime64BestEffortOrNull(JSONExtractString(payload, 'call_received_at'), 3, 'UTC'), event_type = 'incident.created') AS received,
            countIf(event_type = 'incident.cancelled') AS cancelled
          FROM incidents_raw FINAL
          WHERE agency IN ${agencies}
          GROUP BY agency, incident_id
        )
        WHERE service = 'fire' AND cancelled = 0 AND received IS NOT NULL
          AND toDate(received, 'Europe/London') >= ${days.from} AND toDate(received, 'Europe/London') < ${days.to}
        GROUP BY d, category ORDER BY d, category`,
    },
  ];
  const results: Record<string, unknown>[] = [];
  try {
    for (const pair of pairs) {
      // A failing pair is recorded, not allowed to lose the other results.
      const failed = await Promise.all([value(pair.facts), value(pair.raw)]).then(
        () => undefined,
        (error: Error) => error.message,
      );
      if (failed) {
        say(`queries: ${pair.figure} failed: ${failed}`);
        results.push({ figure: pair.figure, error: failed });
        continue;
      }
      const [fromFacts, fromRaw] = [await value(pair.facts), await value(pair.raw)];
      const same = JSON.stringify(fromFacts) === JSON.stringify(fromRaw);
      const facts = await timeIt(`${pair.figure} (facts)`, runs, () => value(pair.facts));
      const raw = await timeIt(`${pair.figure} (raw events)`, runs, () => value(pair.raw));
      results.push({
        figure: pair.figure,
        sameAnswer: same,
        facts,
        raw,
        ratio: round(raw.p50Ms / facts.p50Ms),
      });
    }
  } finally {
    await client.close();
  }
  return results;
}

/** The p95 each query must meet: the annual report (a dozen figures) 300 ms, the rest 100 ms. */
const targetMs = (timing: Timing) => (timing.name.includes('/v1/reports/annual') ? 300 : 100);

/** Query latency over the region dataset: API endpoints, panels and alerts; facts vs raw events. */
export async function queriesSuite(
  stack: LocalStack,
  dataset: { database: string; events: number; counties: number; years: number },
  options: { runs: number },
) {
  const api = await apiTimings(stack, dataset.database, options.runs);
  const panels = await panelTimings(stack, dataset.database, options.runs);
  const raw = await rawComparisons(
    stack,
    dataset.database,
    Math.max(3, Math.floor(options.runs / 4)),
  );
  const all = [...api, ...panels];
  const slowest = all.reduce((worst, timing) => (timing.p95Ms > worst.p95Ms ? timing : worst));
  return {
    suite: 'queries',
    what: `every API endpoint, dashboard panel and alert query over ${dataset.counties} counties × ${dataset.years} years (${dataset.events} raw events), ${options.runs} runs each after a warm-up`,
    dataset,
    api,
    panels,
    raw,
    withinTarget: all.filter((timing) => timing.p95Ms <= targetMs(timing)).length,
    total: all.length,
    slowest,
    target: { p95Ms: 100, reportP95Ms: 300 },
  };
}
