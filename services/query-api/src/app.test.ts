import { PassThrough } from 'node:stream';
import { createLogger, loadConfig } from '@bluelight/service-kit';
import { loadStandards, parseStandard, type StandardDefinition } from '@bluelight/standards';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { queryApiConfigSchema } from './config.js';
import { encodeCursor } from './params.js';
import { FakeClickHouse } from './testing/clickhouse.js';
import { TEST_KEYS, testReaders } from './testing/keys.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

const SHIPPED = loadStandards();

async function api(
  options: { env?: Record<string, string>; standards?: StandardDefinition[]; ready?: boolean } = {},
) {
  const clickhouse = new FakeClickHouse();
  clickhouse.pingOk = options.ready ?? true;
  const logLines = new PassThrough();
  let logText = '';
  logLines.on('data', (chunk) => {
    logText += String(chunk);
  });
  const config = loadConfig(queryApiConfigSchema, {
    QUERY_API_KEYS: JSON.stringify(testReaders()),
    ...options.env,
  });
  const app = await buildApp({
    config,
    clickhouse: clickhouse.asClient(),
    standards: options.standards ?? SHIPPED,
    logger: createLogger({ service: 'query-api', level: 'info', destination: logLines }),
    readiness: [
      {
        name: 'clickhouse',
        check: async () => {
          const result = await clickhouse.ping();
          if (!result.success) throw result.error;
        },
      },
    ],
  });
  apps.push(app);
  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'GET',
      url,
      headers: { authorization: `Bearer ${TEST_KEYS.dashboards}`, ...headers },
    });
  return { app, clickhouse, get, logs: () => logText };
}

const KPI = '/v1/kpis?standard=fire-attendance-standard&from=2024-03-01&to=2024-03-31';
const INCIDENTS = '/v1/incidents?from=2024-03-01&to=2024-03-31';
const RECORDS = '/v1/kpis/records?standard=fire-attendance-standard&from=2024-03-01&to=2024-03-31';
const REPORT = '/v1/reports/annual?from=2023-04-01&to=2024-03-31';
const LONG = 'x'.repeat(201);

/** [request, the parameter the 400 must name] */
const BAD_REQUESTS: [string, string][] = [
  // /v1/kpis
  ['/v1/kpis?standard=nope&from=2024-03-01&to=2024-03-31', 'standard'],
  ['/v1/kpis?from=2024-03-01&to=2024-03-31', 'standard'],
  [`${KPI}&standard=fire-average-attendance`, 'standard'],
  ['/v1/kpis?standard=fire-attendance-standard&from=2024-02-30&to=2024-03-31', 'from'],
  ['/v1/kpis?standard=fire-attendance-standard&to=2024-03-31', 'from'],
  ['/v1/kpis?standard=fire-attendance-standard&from=2024-03-01&to=31/03/2024', 'to'],
  ['/v1/kpis?standard=fire-attendance-standard&from=2024-03-01&to=2024-02-29', 'to'],
  ['/v1/kpis?standard=fire-attendance-standard&from=2014-01-01&to=2024-12-31', 'to'],
  [`${KPI}&groupBy=weekday`, 'groupBy'],
  [`${KPI}&groupBy=queue`, 'groupBy'],
  [`${KPI}&station=`, 'station'],
  [`${KPI}&station=${LONG}`, 'station'],
  [`${KPI}&category=,`, 'category'],
  [`${KPI}&risk_band=${LONG}`, 'risk_band'],
  [`${KPI}&area=`, 'area'],
  [`${KPI}&service=${LONG}`, 'service'],
  [`${KPI}&queue=fire-999`, 'queue'],
  [`${KPI}&crewing_model=wholetime`, 'crewing_model'],
  [`${KPI}&queue=`, 'queue'],
  [`${KPI}&crewing_model=${LONG}`, 'crewing_model'],
  [`${KPI}&station=${Array.from({ length: 101 }, (_, i) => `S${i}`).join(',')}`, 'station'],
  [`${KPI}&format=csv`, 'format'],
  [`${KPI}&agency=`, 'agency'],
  [`${KPI}&agency=Staffordshire%20Fire`, 'agency'],
  [`${KPI}&agency=staffordshire-fire,x`, 'agency'],
  ['/v1/kpis?standard=fire-attendance-standard&from=2000-01-01&to=2000-01-31', 'from'],
  // /v1/kpis/records
  ['/v1/kpis/records?from=2024-03-01&to=2024-03-31', 'standard'],
  [`${RECORDS}&standard=appliance-availability-wholetime`, 'standard'],
  ['/v1/kpis/records?standard=fire-attendance-standard&from=2024-03-01&to=2024-02-29', 'to'],
  [`${RECORDS}&only=everything`, 'only'],
  [`${RECORDS}&only=abandoned`, 'only'],
  [`${RECORDS.replace('fire-attendance-standard', 'fire-average-attendance')}&only=met`, 'only'],
  [`${RECORDS.replace('fire-attendance-standard', 'calls-999-answer')}&only=excluded`, 'only'],
  [`${RECORDS.replace('fire-attendance-standard', 'calls-999-answer')}&only=cancelled`, 'only'],
  [`${RECORDS}&limit=0`, 'limit'],
  [`${RECORDS}&limit=10001`, 'limit'],
  [`${RECORDS}&limit=ten`, 'limit'],
  [`${RECORDS}&cursor=-1`, 'cursor'],
  [`${RECORDS}&cursor=${encodeCursor(1, 'A', 'staffordshire-fire')}`, 'cursor'],
  [`${RECORDS}&groupBy=station`, 'groupBy'],
  [`${RECORDS}&format=csv`, 'format'],
  [`${RECORDS}&station=`, 'station'],
  [`${RECORDS}&queue=fire-999`, 'queue'],
  [`${RECORDS}&agency=Staffordshire%20Fire`, 'agency'],
  // /v1/incidents
  ['/v1/incidents?to=2024-03-31', 'from'],
  ['/v1/incidents?from=2024-13-01&to=2024-03-31', 'from'],
  ['/v1/incidents?from=2024-03-01', 'to'],
  ['/v1/incidents?from=2024-03-01&to=2024-03-01T00:00:00Z', 'to'],
  ['/v1/incidents?from=2024-03-02&to=2024-03-01', 'to'],
  ['/v1/incidents?from=2000-01-01&to=2024-03-01', 'to'],
  [`${INCIDENTS}&station=`, 'station'],
  [`${INCIDENTS}&category=${LONG}`, 'category'],
  [`${INCIDENTS}&risk_band=`, 'risk_band'],
  [`${INCIDENTS}&area=${LONG}`, 'area'],
  [`${INCIDENTS}&service=`, 'service'],
  [`${INCIDENTS}&q=`, 'q'],
  [`${INCIDENTS}&q=${'y'.repeat(101)}`, 'q'],
  [`${INCIDENTS}&q=a&q=b`, 'q'],
  [`${INCIDENTS}&limit=0`, 'limit'],
  [`${INCIDENTS}&limit=1001`, 'limit'],
  [`${INCIDENTS}&limit=ten`, 'limit'],
  [`${INCIDENTS}&limit=-1`, 'limit'],
  [`${INCIDENTS}&cursor=not-a-cursor`, 'cursor'],
  [`${INCIDENTS}&cursor=${Buffer.from('{"a":1}').toString('base64url')}`, 'cursor'],
  [`${INCIDENTS}&cursor=${encodeCursor(1, 'A', 'staffordshire-fire')}!`, 'cursor'],
  [`${INCIDENTS}&standard=x`, 'standard'],
  [`${INCIDENTS}&agency=,`, 'agency'],
  [`${INCIDENTS}&agency=${LONG}`, 'agency'],
  // /v1/reports/annual
  ['/v1/reports/annual?to=2024-03-31', 'from'],
  ['/v1/reports/annual?from=2023-04-01&to=2024-02-30', 'to'],
  ['/v1/reports/annual?from=2023-04-01&to=2023-03-31', 'to'],
  ['/v1/reports/annual?from=2000-04-01&to=2024-03-31', 'to'],
  [`${REPORT}&comparePrevious=yes`, 'comparePrevious'],
  [`${REPORT}&comparePrevious=true&comparePrevious=false`, 'comparePrevious'],
  [`${REPORT}&station=HANLEY`, 'station'],
  [`${REPORT}&agency=staffordshire_fire`, 'agency'],
  // Days ClickHouse's Date cannot hold (it would fail the query, or clamp the day).
  ['/v1/kpis?standard=fire-attendance-standard&from=9999-12-01&to=9999-12-31', 'to'],
  ['/v1/kpis?standard=fire-attendance-standard&from=1969-12-01&to=1970-01-31', 'from'],
  ['/v1/incidents?from=2149-06-01&to=2149-06-06', 'to'],
  ['/v1/reports/annual?from=9999-01-01&to=9999-12-31', 'from'],
  ['/v1/reports/annual?from=1970-01-01&to=1970-12-31&comparePrevious=true', 'comparePrevious'],
  // /v1/standards
  ['/v1/standards?subject=incidents', 'subject'],
  // Standards are the same for every agency: they take no agency.
  ['/v1/standards?agency=staffordshire-fire', 'agency'],
];

describe('query parameters', () => {
  it.each(BAD_REQUESTS)('%s → 400 naming %s, without asking ClickHouse', async (url, parameter) => {
    const { get, clickhouse } = await api();
    const response = await get(url);
    expect(response.statusCode, response.body).toBe(400);
    const body = response.json() as {
      error: string;
      message: string;
      problems: { parameter: string; message: string }[];
    };
    expect(body.error).toBe('bad_request');
    expect(body.problems.map((problem) => problem.parameter)).toContain(parameter);
    for (const problem of body.problems) expect(problem.message.length).toBeGreaterThan(0);
    expect(clickhouse.sent).toEqual([]);
  });

  it('says which days a period may use, for a day ClickHouse cannot hold', async () => {
    const { get } = await api();
    const response = await get('/v1/incidents?from=2024-03-01&to=9999-12-31');
    expect(response.json().problems).toEqual([
      {
        parameter: 'to',
        message:
          "must be a London day from 1970-01-01 to 2149-06-05 (the days ClickHouse's Date type holds)",
      },
    ]);
    // The last day a period may end on is still accepted.
    expect((await get('/v1/incidents?from=2149-06-01&to=2149-06-05')).statusCode).toBe(200);
  });

  it('says why: the reason is in the problem', async () => {
    const { get } = await api();
    const tooLong = await get(
      '/v1/kpis?standard=fire-attendance-standard&from=2014-01-01&to=2024-12-31',
    );
    // 2014-01-01 … 2024-12-31: 11 years, 3 of them leap years (2016, 2020, 2024).
    expect(tooLong.json().problems).toEqual([
      { parameter: 'to', message: 'the period is 4018 days; at most 3700 (to is inclusive)' },
    ]);
    const reversed = await get('/v1/incidents?from=2024-03-02&to=2024-03-01');
    expect(reversed.json().problems).toEqual([
      { parameter: 'to', message: 'must not be before from' },
    ]);
    const unknown = await get(`${KPI}&colour=blue&format=csv`);
    expect(unknown.json().problems).toEqual([
      { parameter: 'colour', message: 'unknown parameter' },
      { parameter: 'format', message: 'unknown parameter' },
    ]);
    const notApplicable = await get(`${KPI}&queue=fire-999`);
    expect(notApplicable.json().problems).toEqual([
      {
        parameter: 'queue',
        message:
          'is not a filter for incidents standards; use station, category, risk_band, area, service',
      },
    ]);
  });

  it('accepts the longest period allowed, both ends counted', async () => {
    const { get, clickhouse } = await api({ env: { QUERY_API_MAX_PERIOD_DAYS: '31' } });
    expect((await get(KPI)).statusCode).toBe(200); // 1–31 March: 31 days
    const over = await get(
      '/v1/kpis?standard=fire-attendance-standard&from=2024-03-01&to=2024-04-01',
    );
    expect(over.statusCode).toBe(400);
    expect(over.json().problems[0].parameter).toBe('to');
    expect(clickhouse.sent).toHaveLength(1);
  });

  it('takes repeated and comma-separated filter values as one list, passed as a query parameter', async () => {
    const { get, clickhouse } = await api();
    const response = await get(`${KPI}&station=HANLEY,%20LEEK&station=BURTON&groupBy=station`);
    expect(response.statusCode).toBe(200);
    expect(response.json().filters).toEqual({ station: ['HANLEY', 'LEEK', 'BURTON'] });
    const [sent] = clickhouse.sent;
    expect(sent?.params.filter_station).toEqual(['HANLEY', 'LEEK', 'BURTON']);
    expect(sent?.query).toContain('{filter_station:Array(String)}');
    expect(sent?.query).not.toContain('HANLEY');
    expect(sent?.params.p0_from).toBe('2024-03-01');
    // `to` is inclusive: the engine reads days before the next one.
    expect(sent?.params.p0_to).toBe('2024-04-01');
  });

  it('passes the incident search values as query parameters, the cursor decoded', async () => {
    const { get, clickhouse } = await api();
    const cursor = encodeCursor(1_711_879_200_000, 'INC-0042', 'staffordshire-fire');
    const response = await get(
      `${INCIDENTS}&station=HANLEY&q=INC-00&limit=2&cursor=${cursor}&risk_band=high,medium`,
    );
    expect(response.statusCode, response.body).toBe(200);
    const [sent] = clickhouse.sent;
    expect(sent?.params).toEqual({
      agencies: ['staffordshire-fire'],
      from: '2024-03-01',
      to: '2024-04-01',
      limit: 3,
      filter_station: ['HANLEY'],
      filter_risk_band: ['high', 'medium'],
      q: 'INC-00',
      after_ms: 1_711_879_200_000,
      after_id: 'INC-0042',
      after_agency: 'staffordshire-fire',
    });
    expect(sent?.query).toContain(
      '(sort_ms, incident_id, row_agency) > ({after_ms:Int64}, {after_id:String}, {after_agency:String})',
    );
    expect(sent?.query).not.toContain('INC-00');
    expect(response.json()).toEqual({
      period: { from: '2024-03-01', to: '2024-03-31' },
      agencies: ['staffordshire-fire'],
      limit: 2,
      incidents: [],
      next_cursor: null,
    });
  });

  it('takes a cursor of an earlier API (no agency) as a position after every agency’s incident there', async () => {
    const { get, clickhouse } = await api();
    const legacy = Buffer.from(JSON.stringify([1_711_879_200_000, 'INC-0042'])).toString(
      'base64url',
    );
    const response = await get(`${INCIDENTS}&cursor=${legacy}`);
    expect(response.statusCode, response.body).toBe(200);
    const [sent] = clickhouse.sent;
    expect(sent?.params).toMatchObject({ after_ms: 1_711_879_200_000, after_id: 'INC-0042' });
    expect(sent?.params).not.toHaveProperty('after_agency');
    expect(sent?.query).toContain('(sort_ms, incident_id) > ({after_ms:Int64}, {after_id:String})');
    // A position naming something that is no agency code is not from this API.
    const forged = Buffer.from(JSON.stringify([1, 'INC-0042', 'Not An Agency'])).toString(
      'base64url',
    );
    const refused = await get(`${INCIDENTS}&cursor=${forged}`);
    expect(refused.statusCode).toBe(400);
    expect(refused.json().problems).toEqual([
      {
        parameter: 'cursor',
        message: 'not a cursor from this API: pass next_cursor from the previous page',
      },
    ]);
  });
});

describe('authentication', () => {
  it('refuses a request without a key, or with a key not recognised, with 401', async () => {
    const { app, clickhouse } = await api();
    const none = await app.inject({ method: 'GET', url: KPI });
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="bluelight"');
    expect(none.json()).toEqual({
      error: 'unauthenticated',
      message: 'no API key: send it as Authorization: Bearer <key> or X-API-Key: <key>',
    });
    const wrong = await app.inject({
      method: 'GET',
      url: '/v1/standards',
      headers: { authorization: 'Bearer not-a-key' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().message).toBe('the API key is not recognised');
    // Authentication comes before validation: a bad request without a key says nothing about it.
    const badAndAnonymous = await app.inject({ method: 'GET', url: '/v1/kpis?standard=nope' });
    expect(badAndAnonymous.statusCode).toBe(401);
    expect(clickhouse.sent).toEqual([]);
  });

  it('takes the key from Authorization: Bearer or X-API-Key', async () => {
    const { app } = await api();
    const bearer = await app.inject({
      method: 'GET',
      url: '/v1/standards',
      headers: { authorization: `Bearer ${TEST_KEYS.analyst}` },
    });
    expect(bearer.statusCode).toBe(200);
    const header = await app.inject({
      method: 'GET',
      url: '/v1/standards',
      headers: { 'x-api-key': TEST_KEYS.dashboards },
    });
    expect(header.statusCode).toBe(200);
  });

  it('with no keys configured, refuses every /v1 request saying how to configure keys', async () => {
    const { get, logs } = await api({ env: { QUERY_API_KEYS: '' } });
    for (const url of ['/v1/standards', KPI, INCIDENTS, REPORT]) {
      const response = await get(url);
      expect(response.statusCode).toBe(401);
      expect(response.json().message).toContain('QUERY_API_KEYS_FILE or QUERY_API_KEYS');
    }
    expect(logs()).toContain('no API keys configured');
  });

  it('logs the reader’s key id, never the key', async () => {
    const { get, logs } = await api();
    await get('/v1/standards');
    await get('/v1/standards', { authorization: `Bearer ${TEST_KEYS.analyst}` });
    const lines = logs()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.route === '/v1/standards');
    expect(lines.map((line) => [line.key_id, line.status])).toEqual([
      ['dashboards', 200],
      ['analyst', 200],
    ]);
    expect(logs()).not.toContain(TEST_KEYS.dashboards);
    expect(logs()).not.toContain(TEST_KEYS.analyst);
  });

  it('leaves the probes and the documentation open', async () => {
    const { app } = await api();
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/docs/json' })).statusCode).toBe(200);
  });
});

const CATEGORY_ZEROS = {
  total: 0,
  primary_fire: 0,
  secondary_fire: 0,
  chimney_fire: 0,
  special_service: 0,
  road_traffic_collision: 0,
  false_alarm: 0,
};

describe('agency scope', () => {
  const DATA_ENDPOINTS = [KPI, RECORDS, INCIDENTS, REPORT];
  const as = (key: keyof typeof TEST_KEYS) => ({ authorization: `Bearer ${TEST_KEYS[key]}` });

  it.each(DATA_ENDPOINTS)(
    '%s: an agency the key may not read is 403 naming it, before any query, in JSON and CSV alike',
    async (url) => {
      const { get, clickhouse } = await api();
      for (const accept of ['application/json', 'text/csv']) {
        const neighbour = await get(`${url}&agency=cheshire-fire`, { accept });
        expect(neighbour.statusCode, neighbour.body).toBe(403);
        expect(neighbour.headers['content-type']).toMatch(/^application\/json/);
        expect(neighbour.json()).toEqual({
          error: 'forbidden_agency',
          message:
            'the key "dashboards" may not read agency "cheshire-fire"; it reads staffordshire-fire',
        });
        // Asked together with its own agency: still refused, naming only the other one.
        const mixed = await get(`${url}&agency=staffordshire-fire&agency=cheshire-fire`, {
          accept,
        });
        expect(mixed.statusCode).toBe(403);
        expect(mixed.json().message).toContain('agency "cheshire-fire";');
      }
      expect(clickhouse.sent).toEqual([]);
    },
  );

  it.each(DATA_ENDPOINTS)(
    '%s: a key of several agencies must say which (400 naming agency)',
    async (url) => {
      const { get, clickhouse } = await api();
      const response = await get(url, as('analyst'));
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({
        error: 'bad_request',
        message:
          'agency: say which agency to read (one or several: agency=a or agency=a,b); this key reads staffordshire-fire, staffordshire-police',
        problems: [
          {
            parameter: 'agency',
            message:
              'say which agency to read (one or several: agency=a or agency=a,b); this key reads staffordshire-fire, staffordshire-police',
          },
        ],
      });
      // The every-agency key too: it is never "all of them" by default.
      const inspector = await get(url, as('inspector'));
      expect(inspector.statusCode).toBe(400);
      expect(inspector.json().problems[0].parameter).toBe('agency');
      expect(clickhouse.sent).toEqual([]);
    },
  );

  it.each(DATA_ENDPOINTS)(
    '%s: every query sent reads only the agencies allowed, as a query parameter',
    async (url) => {
      for (const [key, agency, expected] of [
        ['dashboards', undefined, ['staffordshire-fire']],
        ['analyst', 'staffordshire-police', ['staffordshire-police']],
        [
          'analyst',
          'staffordshire-police,staffordshire-fire',
          ['staffordshire-fire', 'staffordshire-police'],
        ],
        ['inspector', 'cheshire-fire', ['cheshire-fire']],
      ] as const) {
        const { get, clickhouse } = await api();
        // The report's category count always answers one row (zeros when nothing matched).
        clickhouse.answer = ({ query }) =>
          query.includes('AS primary_fire') ? [CATEGORY_ZEROS] : [];
        const response = await get(agency ? `${url}&agency=${agency}` : url, as(key));
        expect(response.statusCode, response.body).toBe(200);
        expect(response.json().agencies).toEqual(expected);
        expect(clickhouse.sent.length).toBeGreaterThan(0);
        for (const sent of clickhouse.sent) {
          const placeholders = [...sent.query.matchAll(/agency IN \{(\w+):Array\(String\)\}/g)];
          // One per read of a fact table: every table a facts source reads, in every version part.
          expect(placeholders.length, sent.query).toBe(
            sent.query.match(
              /FROM (incident_facts|incident_fact_revisions|call_facts|call_fact_revisions|resource_changes|resource_registry|fact_anchor_exceptions|appliance_facts|appliance_fact_revisions)\b/g,
            )?.length,
          );
          for (const [, name] of placeholders)
            expect(sent.params[name as string]).toEqual(expected);
          expect(sent.query).not.toContain("'staffordshire");
        }
      }
    },
  );

  it('logs the agencies read, and those refused', async () => {
    const { get, logs } = await api();
    await get(KPI);
    await get(`${KPI}&agency=cheshire-fire`);
    const lines = logs()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.route === '/v1/kpis');
    expect(lines.map((line) => [line.status, line.agencies, line.refused_agencies])).toEqual([
      [200, ['staffordshire-fire'], undefined],
      [403, undefined, ['cheshire-fire']],
    ]);
  });
});

const ONE_STANDARD = parseStandard(
  `id: quick-attendance
name: Quick attendance
description: Share of incidents attended within 5 minutes, "quickly".
source: Test, local policy
subject: incidents
versions:
  - version: 1
    effective_from: "2020-04-01"
    effective_to: "2024-04-01"
    applies_to: { services: [fire, police] }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: 300, target_share: 0.8 }
  - version: 2
    effective_from: "2024-04-01"
    applies_to: { services: [fire] }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: 240, target_share: 0.9 }
    minimum_sample: 10
`,
  'quick.yaml',
);

describe('GET /v1/standards', () => {
  it('lists every shipped standard with its versions and what it can be grouped and filtered by', async () => {
    const { get } = await api();
    const response = await get('/v1/standards');
    expect(response.statusCode).toBe(200);
    const { standards } = response.json() as { standards: Record<string, unknown>[] };
    expect(standards.map((standard) => standard.id).sort()).toEqual(
      [
        'appliance-availability-on-call',
        'appliance-availability-wholetime',
        'calls-101-triage',
        'calls-999-answer',
        'falls-response',
        'falls-response-outcome',
        'fire-attendance-standard',
        'fire-attendance-standard-second-pump',
        'fire-average-attendance',
        'nfpa-1710-travel',
        'nfpa-1710-turnout',
        'police-emergency-attendance',
      ].sort(),
    );
    const calls = standards.find((standard) => standard.id === 'calls-999-answer');
    expect(calls).toMatchObject({
      subject: 'calls',
      filters: ['queue', 'service'],
      versions: [
        {
          version: 1,
          effective_from: '2015-04-01',
          applies_to: { lines: ['999'] },
          clock: { start: 'call_presented', stop: 'call_answered' },
          statistic: { kind: 'share_within', threshold_seconds: 10, target_share: 0.9 },
          bands_seconds: [10, 60],
          minimum_sample: 5,
        },
      ],
    });
  });

  it('answers CSV, one line per version, when asked', async () => {
    const { get } = await api({ standards: [ONE_STANDARD] });
    const response = await get('/v1/standards', { accept: 'text/csv' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    const exclusions = 'true,true,true,true,3600,60';
    expect(response.body).toBe(
      [
        'id,name,subject,description,source,groupings,filters,version,effective_from,effective_to,minimum_sample,applies_to.services,clock.start,clock.stop,statistic.kind,statistic.threshold_seconds,statistic.target_share,percentile_method,exclusions.late_call,exclusions.derelict_property,exclusions.abandoned_road_vehicle,exclusions.out_of_sequence,exclusions.total_over_seconds,exclusions.total_under_seconds',
        `quick-attendance,Quick attendance,incidents,"Share of incidents attended within 5 minutes, ""quickly"".","Test, local policy","none;agency;day;week;month;station;category;risk_band;area;service;subtype;police_grading;area_type;stop_code;hour_of_week","station;category;risk_band;area;service",1,2020-04-01,2024-04-01,5,"fire;police",call_received,first_arrival,share_within,300,0.8,inclusive,${exclusions}`,
        `quick-attendance,Quick attendance,incidents,"Share of incidents attended within 5 minutes, ""quickly"".","Test, local policy","none;agency;day;week;month;station;category;risk_band;area;service;subtype;police_grading;area_type;stop_code;hour_of_week","station;category;risk_band;area;service",2,2024-04-01,,10,fire,call_received,first_arrival,share_within,240,0.9,inclusive,${exclusions}`,
        '',
      ].join('\r\n'),
    );
  });
});

describe('rate limit per read key', () => {
  it('answers 429 with Retry-After past the burst, per key, without asking ClickHouse', async () => {
    const { get, clickhouse } = await api({
      env: { QUERY_API_RATE_LIMIT_PER_SECOND: '1', QUERY_API_RATE_LIMIT_BURST: '2' },
    });
    const statuses = [];
    for (let request = 0; request < 3; request++) statuses.push((await get(INCIDENTS)).statusCode);
    expect(statuses).toEqual([200, 200, 429]);
    expect(clickhouse.sent).toHaveLength(2);
    const refused = await get(INCIDENTS);
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toEqual({
      error: 'rate_limited',
      message: 'key "dashboards" may make 1 requests a second (bursts of 2); retry after 1 s',
    });
    // Another reader has its own bucket; probes need no key and are not limited.
    expect(
      (await get(INCIDENTS, { authorization: `Bearer ${TEST_KEYS.neighbour}` })).statusCode,
    ).toBe(200);
    for (let probe = 0; probe < 5; probe++) {
      expect((await get('/healthz', { authorization: '' })).statusCode).toBe(200);
    }
    // A bad key is still a 401, not a 429.
    expect((await get(INCIDENTS, { authorization: 'Bearer nope' })).statusCode).toBe(401);
    expect(clickhouse.sent).toHaveLength(3);
  });

  it('lets the key through again once its bucket refilled', async () => {
    const { get } = await api({
      env: { QUERY_API_RATE_LIMIT_PER_SECOND: '20', QUERY_API_RATE_LIMIT_BURST: '1' },
    });
    expect((await get(INCIDENTS)).statusCode).toBe(200);
    expect((await get(INCIDENTS)).statusCode).toBe(429);
    // 20 a second: one token every 50 ms.
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect((await get(INCIDENTS)).statusCode).toBe(200);
  });
});

describe('CSV a spreadsheet opens safely', () => {
  it('defuses text that starts a formula and keeps negative numbers as numbers', async () => {
    const { get, clickhouse } = await api();
    // An incident whose area a sender typed as a formula, with out-of-sequence clocks (a
    // negative turnout), as ClickHouse would answer the search.
    clickhouse.answer = () => [
      {
        incident_id: 'SFR-0001',
        agency: 'staffordshire-fire',
        service: 'fire',
        category: 'primary_fire',
        category_subtype: 'dwelling',
        risk_band: 'high',
        life_risk: 1,
        police_grading: '',
        area_type: 'urban',
        station_ground: 'HANLEY',
        area: '=HYPERLINK("http://evil.test","Stoke")',
        cancelled: 0,
        stop_code: '@SUM(1+1)',
        day_text: '2024-03-10',
        call_received_at: '2024-03-10 08:00:00.000',
        created_at: null,
        first_mobilised_at: '2024-03-10 08:01:00.000',
        first_mobile_at: '2024-03-10 08:00:30.000',
        first_arrival_at: null,
        second_arrival_at: null,
        closed_at: null,
        seg_call_handling: 60,
        seg_turnout: -30,
        seg_travel: null,
        seg_total: null,
        sort_ms: 1_710_057_600_000,
      },
    ];
    const response = await get(INCIDENTS, { accept: 'text/csv' });
    expect(response.statusCode).toBe(200);
    const [, line] = response.body.split('\r\n');
    expect(line).toBe(
      `SFR-0001,2024-03-10,staffordshire-fire,fire,primary_fire,dwelling,high,true,,urban,HANLEY,"'=HYPERLINK(""http://evil.test"",""Stoke"")",false,"'@SUM(1+1)",2024-03-10T08:00:00.000Z,,2024-03-10T08:01:00.000Z,2024-03-10T08:00:30.000Z,,,,60,-30,,`,
    );
  });
});

describe('GET /v1/kpis', () => {
  it('answers a calls standard from ClickHouse’s row, and as CSV names each band', async () => {
    const { get, clickhouse } = await api();
    clickhouse.answer = () => [
      {
        group: 'all',
        calls: 6,
        abandoned: 1,
        n: 5,
        met: 4,
        with_outcome: 0,
        mean_seconds: 9.2,
        percentile_seconds: 30,
        band_counts: { '0': 3, '1': 1, '2': 1 },
      },
    ];
    const url =
      '/v1/kpis?standard=calls-999-answer&from=2024-03-01&to=2024-03-31&queue=a,b&queue=c';
    const json = await get(url);
    expect(json.statusCode, json.body).toBe(200);
    expect(json.json()).toEqual({
      standard: {
        id: 'calls-999-answer',
        name: '999 calls answered within 10 seconds',
        subject: 'calls',
        description:
          'Share of answered 999 calls answered within 10 seconds of being presented; mean wait beside it.',
        source: 'National 999 call answering standard (90% within 10 s)',
      },
      period: { from: '2024-03-01', to: '2024-03-31' },
      agencies: ['staffordshire-fire'],
      groupBy: 'none',
      filters: { queue: ['a', 'b', 'c'] },
      versions: [{ version: 1, from: '2024-03-01', to: '2024-03-31' }],
      target: { statistic: 'share_within', targetShare: 0.9, thresholdSeconds: 10 },
      minimumSample: 5,
      bandsSeconds: [10, 60],
      rows: [
        {
          group: 'all',
          version: 1,
          calls: 6,
          abandoned: 1,
          n: 5,
          value: 0.8,
          insufficientData: false,
          met: 4,
          meanSeconds: 9.2,
          percentileSeconds: 30,
          bands: [3, 1, 1],
        },
      ],
    });
    const csv = await get(url, { accept: 'text/csv' });
    expect(csv.body).toBe(
      'standard,agencies,from,to,groupBy,group,version,calls,abandoned,n,value,insufficientData,met,meanSeconds,percentileSeconds,bands.up_to_10s,bands.over_10s_to_60s,bands.over_60s\r\n' +
        'calls-999-answer,staffordshire-fire,2024-03-01,2024-03-31,none,all,1,6,1,5,0.8,false,4,9.2,30,3,1,1\r\n',
    );
    expect(clickhouse.sent[0]?.params.p0_filter_queue).toEqual(['a', 'b', 'c']);
  });

  it('answers 503 with Retry-After when ClickHouse cannot be reached, 500 on any other fault', async () => {
    const { get, clickhouse, logs } = await api();
    clickhouse.failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), {
      code: 'ECONNREFUSED',
    });
    const down = await get(KPI);
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('5');
    expect(down.json().error).toBe('clickhouse_unavailable');
    clickhouse.failWith = new Error('something unexpected');
    const fault = await get(INCIDENTS);
    expect(fault.statusCode).toBe(500);
    expect(fault.json()).toEqual({ error: 'internal_error', message: 'internal error' });
    expect(logs()).toContain('something unexpected');
  });
});

describe('GET /v1/reports/annual', () => {
  it('says which standard is missing when the loaded standards lack one the report needs', async () => {
    const { get, clickhouse } = await api({ standards: [ONE_STANDARD] });
    const response = await get(REPORT);
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({
      error: 'standards_missing',
      message: 'standards: the report needs the standard "fire-attendance-standard"',
    });
    expect(clickhouse.sent).toEqual([]);
  });
});

describe('probes, metrics and documentation', () => {
  it('reports not ready while ClickHouse does not answer', async () => {
    const { app } = await api({ ready: false });
    const response = await app.inject({ method: 'GET', url: '/readyz' });
    expect(response.statusCode).toBe(503);
    expect(response.json().checks.clickhouse).toContain('ECONNREFUSED');
  });

  it('counts requests by route and status with their latency', async () => {
    const { app, get } = await api();
    await get('/v1/standards');
    await get('/v1/standards');
    await get('/v1/kpis?standard=nope');
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(
      /http_request_duration_seconds_count\{service="query-api",method="GET",route="\/v1\/standards",status_code="200"\} 2/,
    );
    expect(metrics).toMatch(
      /http_request_duration_seconds_count\{service="query-api",method="GET",route="\/v1\/kpis",status_code="400"\} 1/,
    );
    expect(metrics).toContain('http_request_duration_seconds_bucket{le="0.005"');
  });

  it('documents every endpoint and its query parameters in OpenAPI 3.1', async () => {
    const { app } = await api();
    const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      openapi: string;
      paths: Record<string, { get: { parameters?: { name: string; in: string }[] } }>;
    };
    expect(spec.openapi).toBe('3.1.0');
    const names = (path: string) =>
      (spec.paths[path]?.get.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    expect(names('/v1/kpis').sort()).toEqual(
      [
        'agency',
        'standard',
        'from',
        'to',
        'groupBy',
        'station',
        'category',
        'risk_band',
        'area',
        'service',
        'queue',
        'crewing_model',
      ].sort(),
    );
    expect(names('/v1/incidents').sort()).toEqual(
      [
        'agency',
        'from',
        'to',
        'station',
        'category',
        'risk_band',
        'area',
        'service',
        'q',
        'limit',
        'cursor',
      ].sort(),
    );
    expect(names('/v1/reports/annual').sort()).toEqual(['agency', 'comparePrevious', 'from', 'to']);
    expect(names('/v1/data-quality').sort()).toEqual(['agency', 'from', 'to']);
    expect(names('/v1/data-quality/records').sort()).toEqual(
      ['agency', 'check', 'from', 'limit', 'offset', 'to'].sort(),
    );
    expect(spec.paths['/v1/kpis']?.get).toHaveProperty(['responses', '403']);
    expect(Object.keys(spec.paths)).toContain('/v1/standards');
  });

  it('marks the /v1 routes as needing a key, and the probes and /metrics as needing none', async () => {
    const { app, get } = await api();
    const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as {
      security?: unknown;
      paths: Record<string, { get: { security?: unknown } }>;
    };
    // Nothing document-wide, which every path without its own would inherit.
    expect(spec.security).toBeUndefined();
    const v1 = Object.keys(spec.paths).filter((path) => path.startsWith('/v1/'));
    expect(v1.sort()).toEqual([
      '/v1/data-quality',
      '/v1/data-quality/records',
      '/v1/incidents',
      '/v1/kpis',
      '/v1/kpis/records',
      '/v1/operations/appliances',
      '/v1/operations/appliances/records',
      '/v1/operations/committed-elsewhere',
      '/v1/operations/concurrency',
      '/v1/operations/cover',
      '/v1/operations/first-arrivals',
      '/v1/operations/utilisation',
      '/v1/reports/annual',
      '/v1/standards',
    ]);
    for (const path of v1) {
      expect(spec.paths[path]?.get.security, path).toEqual([{ bearer: [] }, { apiKey: [] }]);
    }
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect(spec.paths[path], `${path} is documented`).toBeDefined();
      const security = spec.paths[path]?.get.security;
      expect(
        security === undefined || (Array.isArray(security) && security.length === 0),
        path,
      ).toBe(true);
      // As documented: they answer without a key.
      expect((await get(path, { authorization: '' })).statusCode, path).toBe(200);
    }
  });
});
