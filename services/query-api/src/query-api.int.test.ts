import { ClickHouseError } from '@bluelight/service-kit';
import { loadStandards, parseStandard } from '@bluelight/standards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INCIDENTS } from './testing/facts.js';
import { startTestQueryApi } from './testing/harness.js';

/** The Service Attendance Standard with a minimum sample of 1, so small groups get a figure. */
const TEST_ATTENDANCE = parseStandard(
  `id: test-attendance
name: Test attendance
description: The attendance standard, any sample size.
source: Test
subject: incidents
versions:
  - version: 1
    effective_from: "2020-04-01"
    applies_to: { services: [fire], life_risk: true }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: { by_risk_band: { high: 480, medium: 600, low: 1080 } }, target_share: 0.8 }
    minimum_sample: 1
`,
  'test-attendance.yaml',
);

let api: Awaited<ReturnType<typeof startTestQueryApi>>;

/** Excel's PERCENTILE.INC (the standards' default method), from its definition. */
function percentileInc(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const h = (sorted.length - 1) * p + 1;
  const k = Math.floor(h);
  const low = sorted[k - 1] as number;
  return k >= sorted.length ? low : low + (h - k) * ((sorted[k] as number) - low);
}
const p90 = (...values: number[]) => percentileInc(values, 0.9);

beforeAll(async () => {
  api = await startTestQueryApi('qapi', { standards: [...loadStandards(), TEST_ATTENDANCE] });
});
afterAll(async () => {
  await api?.cleanup();
});

const REASONS = [
  'late_call',
  'derelict_property',
  'abandoned_road_vehicle',
  'out_of_sequence',
  'total_over',
  'total_under',
] as const;
const noReasons = Object.fromEntries(REASONS.map((reason) => [reason, 0]));
const noExclusions = { total: 0, ...noReasons };
/** What an incident row says of its exclusions and cancelled incidents when there are none. */
const nothingExcluded = {
  excluded: noExclusions,
  excludedByPrimaryReason: noReasons,
  excludedAlsoMatched: noReasons,
  cancelled: 0,
};

describe('GET /v1/kpis (real ClickHouse)', () => {
  const url =
    '/v1/kpis?standard=test-attendance&from=2024-03-10&to=2024-03-11&groupBy=station&risk_band=high,medium';

  it('computes the standard per station over the filtered incidents', async () => {
    const response = await api.get(url);
    expect(response.statusCode, response.body).toBe(200);
    // HANLEY: 0001 high 400 s ≤ 480 met, 0002 high 500 s missed, 0003 medium 550 s ≤ 600 met,
    //   0007 high with no arrival (not measured). LEEK: 0004 medium 700 s missed, 0006 high
    //   460 s met; 0005 is low risk and filtered out. POL-0001 is police: not in scope.
    expect(response.json()).toEqual({
      standard: {
        id: 'test-attendance',
        name: 'Test attendance',
        subject: 'incidents',
        description: 'The attendance standard, any sample size.',
        source: 'Test',
      },
      period: { from: '2024-03-10', to: '2024-03-11' },
      // The key (Staffordshire fire's alone) reads its one agency without being asked.
      agencies: ['staffordshire-fire'],
      groupBy: 'station',
      filters: { risk_band: ['high', 'medium'] },
      versions: [{ version: 1, from: '2024-03-10', to: '2024-03-11' }],
      target: {
        statistic: 'share_within',
        targetShare: 0.8,
        thresholdSeconds: { by_risk_band: { high: 480, medium: 600, low: 1080 } },
      },
      minimumSample: 1,
      rows: [
        {
          group: 'HANLEY',
          version: 1,
          incidents: 4,
          n: 3,
          met: 2,
          value: 2 / 3,
          insufficientData: false,
          meanSeconds: (400 + 500 + 550) / 3,
          // PERCENTILE.INC: h = 0.9 × 2 + 1 = 2.8, 500 + 0.8 × 50 = 540.
          percentileSeconds: p90(400, 500, 550),
          notMeasured: 1,
          segments: {
            call_handling: { n: 3, meanSeconds: (60 + 90 + 30) / 3, p90Seconds: p90(60, 90, 30) },
            turnout: { n: 3, meanSeconds: (60 + 60 + 70) / 3, p90Seconds: p90(60, 60, 70) },
            travel: { n: 3, meanSeconds: (280 + 350 + 450) / 3, p90Seconds: p90(280, 350, 450) },
            total: { n: 3, meanSeconds: (400 + 500 + 550) / 3, p90Seconds: p90(400, 500, 550) },
          },
          ...nothingExcluded,
          // Nothing excluded: the companion is the figure itself.
          withoutExclusions: { n: 3, value: 2 / 3, insufficientData: false },
        },
        {
          group: 'LEEK',
          version: 1,
          incidents: 2,
          n: 2,
          met: 1,
          value: 0.5,
          insufficientData: false,
          meanSeconds: 580,
          percentileSeconds: p90(460, 700),
          notMeasured: 0,
          segments: {
            call_handling: { n: 2, meanSeconds: 57.5, p90Seconds: p90(45, 70) },
            turnout: { n: 2, meanSeconds: 60, p90Seconds: 60 },
            travel: { n: 2, meanSeconds: 462.5, p90Seconds: p90(330, 595) },
            total: { n: 2, meanSeconds: 580, p90Seconds: p90(460, 700) },
          },
          ...nothingExcluded,
          withoutExclusions: { n: 2, value: 0.5, insufficientData: false },
        },
      ],
    });
  });

  it('answers the same figures as CSV, one line per group', async () => {
    const response = await api.get(url, { accept: 'text/csv' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
    const segments = ['call_handling', 'turnout', 'travel', 'total'].flatMap((segment) => [
      `segments.${segment}.n`,
      `segments.${segment}.meanSeconds`,
      `segments.${segment}.p90Seconds`,
    ]);
    const header = [
      'standard,agencies,from,to,groupBy,group,version,incidents,n,value,insufficientData,met,meanSeconds,percentileSeconds,notMeasured',
      ...segments,
      'excluded.total,excluded.late_call,excluded.derelict_property,excluded.abandoned_road_vehicle,excluded.out_of_sequence,excluded.total_over,excluded.total_under',
      ...REASONS.map((reason) => `excludedByPrimaryReason.${reason}`),
      ...REASONS.map((reason) => `excludedAlsoMatched.${reason}`),
      'cancelled',
      'withoutExclusions.n,withoutExclusions.value,withoutExclusions.insufficientData',
    ].join(',');
    // Six primary-reason counts, six "also matched", no cancelled incident: 13 zeros.
    const noCounts = Array.from({ length: 13 }, () => 0).join(',');
    expect(response.body).toBe(
      `${header}\r\n` +
        `test-attendance,staffordshire-fire,2024-03-10,2024-03-11,station,HANLEY,1,4,3,${2 / 3},false,2,${1450 / 3},${p90(400, 500, 550)},1,3,60,${p90(60, 90, 30)},3,${190 / 3},${p90(60, 60, 70)},3,360,${p90(280, 350, 450)},3,${1450 / 3},${p90(400, 500, 550)},0,0,0,0,0,0,0,${noCounts},3,${2 / 3},false\r\n` +
        `test-attendance,staffordshire-fire,2024-03-10,2024-03-11,station,LEEK,1,2,2,0.5,false,1,580,${p90(460, 700)},0,2,57.5,${p90(45, 70)},2,60,60,2,462.5,${p90(330, 595)},2,580,${p90(460, 700)},0,0,0,0,0,0,0,${noCounts},2,0.5,false\r\n`,
    );
  });

  it('computes a shipped standard over a month, to inclusive', async () => {
    const response = await api.get(
      '/v1/kpis?standard=fire-attendance-standard&from=2024-03-01&to=2024-03-31',
    );
    expect(response.statusCode).toBe(200);
    // Life-risk fire incidents in March: 0001–0007 (0009 is not life-risk, 0010 cancelled).
    // Measured 6; within the band's time: 0001, 0003, 0005 (low, 900 ≤ 1080), 0006.
    expect(response.json().rows).toMatchObject([
      { group: 'all', incidents: 7, n: 6, met: 4, value: 4 / 6, notMeasured: 1 },
    ]);
    // A period that ends the day before 0006 and 0007 (11 March) leaves them out.
    const tenth = await api.get(
      '/v1/kpis?standard=fire-attendance-standard&from=2024-03-01&to=2024-03-10',
    );
    expect(tenth.json().rows).toMatchObject([{ incidents: 5, n: 5, met: 3 }]);
  });
});

const SEGMENTS: Record<string, [number | null, number | null, number | null, number | null]> = {
  'SFR-0001': [60, 60, 280, 400],
  'SFR-0002': [90, 60, 350, 500],
  'SFR-0003': [30, 70, 450, 550],
  'SFR-0004': [45, 60, 595, 700],
  'SFR-0005': [50, 60, 790, 900],
  'SFR-0006': [70, 60, 330, 460],
  'SFR-0007': [60, null, null, null],
  'POL-0001': [120, 60, 420, 600],
};
const segmentsOf = (id: string) => {
  const [call_handling, turnout, travel, total] = SEGMENTS[id] ?? [];
  return { call_handling, turnout, travel, total };
};

interface Page {
  limit: number;
  incidents: { incident_id: string; segments_seconds: Record<string, number | null> }[];
  next_cursor: string | null;
}

/** Staffordshire's fire service and police force together, with the key that reads both. */
const STAFFS = 'agency=staffordshire-fire,staffordshire-police';
const asAnalyst = (url: string) => api.get(url, {}, 'analyst');

describe('GET /v1/incidents (real ClickHouse)', () => {
  it('pages through the period in call order with each incident’s times and segments', async () => {
    const first = await asAnalyst(`/v1/incidents?from=2024-03-10&to=2024-03-11&limit=4&${STAFFS}`);
    expect(first.statusCode, first.body).toBe(200);
    const page1 = first.json() as Page;
    expect(page1.incidents.map((incident) => incident.incident_id)).toEqual([
      'SFR-0001',
      'SFR-0002',
      'SFR-0003',
      'SFR-0004',
    ]);
    expect(page1.incidents[0]).toEqual({
      incident_id: 'SFR-0001',
      day: '2024-03-10',
      agency: 'staffordshire-fire',
      service: 'fire',
      category: 'primary_fire',
      category_subtype: 'dwelling',
      risk_band: 'high',
      life_risk: true,
      police_grading: '',
      area_type: '',
      station: 'HANLEY',
      area: 'Stoke',
      cancelled: false,
      stop_code: '',
      times: {
        call_received_at: '2024-03-10T08:00:00.000Z',
        created_at: '2024-03-10T08:00:20.000Z',
        first_mobilised_at: '2024-03-10T08:01:00.000Z',
        first_mobile_at: '2024-03-10T08:02:00.000Z',
        first_arrival_at: '2024-03-10T08:06:40.000Z',
        second_arrival_at: null,
        closed_at: null,
      },
      segments_seconds: { call_handling: 60, turnout: 60, travel: 280, total: 400 },
    });
    expect(page1.next_cursor).toEqual(expect.any(String));
    expect(first.headers['x-next-cursor']).toBe(page1.next_cursor);

    const second = await asAnalyst(
      `/v1/incidents?from=2024-03-10&to=2024-03-11&limit=4&cursor=${page1.next_cursor}&${STAFFS}`,
    );
    const page2 = second.json() as Page;
    expect(page2.incidents.map((incident) => incident.incident_id)).toEqual([
      'SFR-0005',
      'SFR-0006',
      'SFR-0007',
      'POL-0001',
    ]);
    expect(page2.next_cursor).toBeNull();
    for (const incident of [...page1.incidents, ...page2.incidents]) {
      expect(incident.segments_seconds, incident.incident_id).toEqual(
        segmentsOf(incident.incident_id),
      );
    }
  });

  it('filters by station, service and q (id prefix, or station / area, any case)', async () => {
    const ids = async (query: string) =>
      (
        (
          await asAnalyst(`/v1/incidents?from=2024-03-01&to=2024-03-31&${STAFFS}&${query}`)
        ).json() as Page
      ).incidents.map((incident) => incident.incident_id);
    expect(await ids('station=LEEK')).toEqual([
      'SFR-0004',
      'SFR-0005',
      'SFR-0006',
      'SFR-0009',
      'SFR-0010',
    ]);
    expect(await ids('service=police')).toEqual(['POL-0001']);
    expect(await ids('q=POL')).toEqual(['POL-0001']);
    expect(await ids('q=SFR-000&station=HANLEY,CENTRAL&risk_band=medium')).toEqual(['SFR-0003']);
    expect(await ids('q=sto&service=fire')).toEqual([
      'SFR-0001',
      'SFR-0002',
      'SFR-0003',
      'SFR-0007',
    ]);
    expect(await ids('q=moor&category=secondary_fire')).toEqual(['SFR-0009']);
    expect(await ids('q=nothing-like-this')).toEqual([]);
  });

  it('answers CSV, one line per incident, the next cursor in X-Next-Cursor', async () => {
    const response = await api.get('/v1/incidents?from=2024-03-10&to=2024-03-11&q=leek&limit=2', {
      accept: 'text/csv',
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-next-cursor']).toEqual(expect.any(String));
    expect(response.body).toBe(
      'incident_id,day,agency,service,category,category_subtype,risk_band,life_risk,police_grading,area_type,station,area,cancelled,stop_code,times.call_received_at,times.created_at,times.first_mobilised_at,times.first_mobile_at,times.first_arrival_at,times.second_arrival_at,times.closed_at,segments_seconds.call_handling,segments_seconds.turnout,segments_seconds.travel,segments_seconds.total\r\n' +
        'SFR-0004,2024-03-10,staffordshire-fire,fire,primary_fire,dwelling,medium,true,,,LEEK,Moorlands,false,,2024-03-10T11:00:00.000Z,2024-03-10T11:00:20.000Z,2024-03-10T11:00:45.000Z,2024-03-10T11:01:45.000Z,2024-03-10T11:11:40.000Z,,,45,60,595,700\r\n' +
        'SFR-0005,2024-03-10,staffordshire-fire,fire,primary_fire,dwelling,low,true,,,LEEK,Moorlands,false,,2024-03-10T12:00:00.000Z,2024-03-10T12:00:20.000Z,2024-03-10T12:00:50.000Z,2024-03-10T12:01:50.000Z,2024-03-10T12:15:00.000Z,,,50,60,790,900\r\n',
    );
    const rest = await api.get(
      `/v1/incidents?from=2024-03-10&to=2024-03-11&q=leek&limit=2&cursor=${response.headers['x-next-cursor']}`,
      { accept: 'text/csv' },
    );
    const lines = rest.body.trimEnd().split('\r\n');
    expect(lines.slice(1).map((line) => line.split(',')[0])).toEqual(['SFR-0006']);
    expect(rest.headers['x-next-cursor']).toBeUndefined();
  });
});

describe('GET /v1/reports/annual (real ClickHouse)', () => {
  it('reports the period’s figures beside the previous period’s', async () => {
    const response = await api.get(
      '/v1/reports/annual?from=2024-03-01&to=2024-03-31&comparePrevious=true',
    );
    expect(response.statusCode, response.body).toBe(200);
    const report = response.json();
    expect(report.agencies).toEqual(['staffordshire-fire']);
    expect(report.current.period).toEqual({ from: '2024-03-01', to: '2024-03-31' });
    // Fire, not cancelled, in March: 0001–0007 primary fires, 0009 a secondary fire; 0010 was
    // cancelled, counted apart.
    expect(report.current.fireIncidents).toEqual({
      total: 8,
      primaryFires: 7,
      secondaryFires: 1,
      chimneyFires: 0,
      specialServices: 0,
      roadTrafficCollisions: 0,
      falseAlarms: 0,
      cancelled: 1,
    });
    expect(report.current.attendanceStandard).toMatchObject({
      share: 4 / 6,
      target: 0.8,
      n: 6,
      met: 4,
      notMeasured: 1,
      insufficientData: false,
    });
    // Primary fires measured: 400, 500, 550, 700, 900, 460 s → 585 s = 9.75 min.
    expect(report.current.averageFireAttendance).toMatchObject({ minutes: 9.75, n: 6 });
    // 999 calls: answered after 5, 8, 10, 12, 30 s and one abandoned.
    expect(report.current.calls999).toMatchObject({
      calls: 6,
      answered: 5,
      abandoned: 1,
      withinTenSecondsShare: 3 / 5,
      meanWaitSeconds: 13,
      bandsSeconds: [10, 60],
      // ≤ 10 s: 5, 8 and 10 — the 3 within 10 s; 10–60 s: 12 and 30.
      bands: [3, 2, 0],
    });
    // 743 hours in London's March 2024 (one lost to the clocks), 48 off the run for crewing.
    expect(report.current.wholetimeAvailability).toMatchObject({
      share: 695 / 743,
      hours: 743,
      offRunHoursByReason: { crewing: 48 },
    });
    // The previous 31 days: 30 January – 29 February 2024, holding SFR-0011 alone.
    expect(report.previous.period).toEqual({ from: '2024-01-30', to: '2024-02-29' });
    expect(report.previous.fireIncidents.total).toBe(1);
    expect(report.lines[0]).toEqual({
      key: 'fire_incidents',
      label: 'Fire incidents attended',
      unit: 'count',
      value: 8,
      previous: 1,
      target: null,
    });
  });

  it('answers the report’s table lines as CSV', async () => {
    const response = await api.get(
      '/v1/reports/annual?from=2024-03-01&to=2024-03-31&comparePrevious=true',
      { accept: 'text/csv' },
    );
    expect(response.statusCode).toBe(200);
    const lines = response.body.split('\r\n');
    expect(lines[0]).toBe('key,label,unit,value,previous,target');
    expect(lines).toContain('fire_incidents,Fire incidents attended,count,8,1,');
    expect(lines).toContain('primary_fires,  primary fires,count,7,1,');
    expect(lines).toContain(
      `attendance_standard_met,Service Attendance Standard met,share,${4 / 6},,0.8`,
    );
    expect(lines).toContain('average_fire_attendance,Average fire attendance,minutes,9.75,,');
    expect(lines).toContain('calls_999_within_10s,999 calls answered within 10 s,share,0.6,,0.9');
    expect(lines).toContain('calls_999_mean_wait,  average wait,seconds,13,,');
    expect(lines.at(-1)).toBe('');
  });

  it('answers Accept: text/html with the printable document of the same figures', async () => {
    const response = await api.get('/v1/reports/annual?from=2024-03-01&to=2024-03-31', {
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = response.body;
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img/i);
    const row = (key: string) =>
      new RegExp(`<tr data-key="${key}"[^>]*>(.*?)</tr>`).exec(html)?.[1] ?? '';
    const values = (key: string) =>
      [...row(key).matchAll(/data-value="([^"]*)"/g)].map((match) => match[1]);
    // The same figures as the JSON above (hand-counted fixtures), the previous month beside them.
    expect(values('fire_incidents')).toEqual(['8', '1', '']);
    expect(values('attendance_standard_met')).toEqual([String(4 / 6), '', '0.8']);
    expect(row('attendance_standard_met')).toContain('data-verdict="not met"');
    expect(values('calls_999_within_10s')).toEqual(['0.6', '', '0.9']);
    // Every chart, its series from the same report: March's 6 measured, 4 within the standard.
    expect([...html.matchAll(/<figure class="chart" id="([^"]+)"/g)].map((m) => m[1])).toEqual([
      'attendance-by-month',
      'attendance-by-station',
      'attendance-distribution',
      'response-segments',
      'calls-999-bands',
      'availability-by-station',
      'demand-7x24',
      'categories-year-on-year',
    ]);
    const series = /data-chart="attendance-by-month" data-series="([^"]*)"/.exec(html)?.[1] ?? '';
    const unescaped = series.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));
    expect(JSON.parse(unescaped).rows).toMatchObject([
      { month: '2024-03', n: 6, met: 4, share: 4 / 6 },
    ]);
  });
});

describe('read-only ClickHouse access', () => {
  it('the API’s client cannot write, alter or drop, whatever SQL it is given', async () => {
    const attempts = [
      `INSERT INTO incident_facts (agency, incident_id) VALUES ('staffordshire-fire', 'X-1')`,
      'DROP TABLE incident_facts',
      'ALTER TABLE incident_facts DELETE WHERE 1',
      'CREATE TABLE sneaky (a UInt8) ENGINE = Memory',
    ];
    for (const query of attempts) {
      const failure = await api.readOnly.command({ query }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure, query).toBeInstanceOf(ClickHouseError);
      expect((failure as ClickHouseError).type, query).toBe('READONLY');
    }
    const count = await api.db.client.query({
      query: 'SELECT count() AS n FROM incident_facts FINAL',
      format: 'JSONEachRow',
    });
    expect(await count.json()).toEqual([{ n: INCIDENTS.length }]);
  });

  it('is ready while ClickHouse answers', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/readyz' });
    expect(response.json()).toEqual({ status: 'ready', checks: { clickhouse: 'ok' } });
  });
});

describe('periods at the edge of what ClickHouse holds (real ClickHouse)', () => {
  it('answers 400 naming the parameter for a day its Date cannot hold, and 200 for the last it can', async () => {
    for (const url of [
      '/v1/kpis?standard=test-attendance&from=9999-12-01&to=9999-12-31',
      '/v1/incidents?from=9999-12-01&to=9999-12-31',
      '/v1/reports/annual?from=9999-12-01&to=9999-12-31',
    ]) {
      const response = await api.get(url);
      expect(response.statusCode, `${url}: ${response.body}`).toBe(400);
      expect(response.json().problems.map((p: { parameter: string }) => p.parameter)).toEqual([
        'from',
        'to',
      ]);
    }
    // The last day a period may end on: ClickHouse answers (no incidents then).
    const last = await api.get('/v1/incidents?from=2149-06-01&to=2149-06-05');
    expect(last.statusCode, last.body).toBe(200);
    expect(last.json().incidents).toEqual([]);
    const first = await api.get('/v1/kpis?standard=calls-999-answer&from=1970-01-01&to=1970-01-31');
    expect(first.statusCode, first.body).toBe(400);
    // Before the standard's first version (2015): a 400 naming from, not a ClickHouse failure.
    expect(first.json().problems[0].parameter).toBe('from');
  });
});

describe('GET /v1/kpis?groupBy=area (real ClickHouse)', () => {
  it('computes the standard per local authority area, as a recount of the facts gives', async () => {
    const response = await api.get(
      '/v1/kpis?standard=test-attendance&from=2024-03-01&to=2024-03-31&groupBy=area',
    );
    expect(response.statusCode, response.body).toBe(200);
    const limits: Record<string, number> = { high: 480, medium: 600, low: 1080 };
    // Staffordshire fire's life-risk incidents of March, not cancelled, with an arrival between
    // the Home Office limits of 1 minute and 1 hour (no other exclusion is flagged in the facts).
    const measured = INCIDENTS.filter(
      (fact) =>
        (fact.agency ?? 'staffordshire-fire') === 'staffordshire-fire' &&
        (fact.service ?? 'fire') === 'fire' &&
        (fact.lifeRisk ?? 1) === 1 &&
        !fact.cancelled &&
        fact.received.startsWith('2024-03') &&
        fact.arrival !== null &&
        fact.arrival >= 60 &&
        fact.arrival <= 3_600,
    );
    const areas = [...new Set(measured.map((fact) => fact.area))].sort();
    expect(
      response.json().rows.map((row: { group: string; n: number; met: number }) => ({
        group: row.group,
        n: row.n,
        met: row.met,
      })),
    ).toEqual(
      areas.map((area) => {
        const inArea = measured.filter((fact) => fact.area === area);
        return {
          group: area,
          n: inArea.length,
          met: inArea.filter((fact) => (fact.arrival as number) <= (limits[fact.band] ?? 0)).length,
        };
      }),
    );
  });
});
