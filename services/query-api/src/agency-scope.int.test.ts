import { incidentFixtureEvents, landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { loadStandards, parseStandard } from '@bluelight/standards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INCIDENTS } from './testing/facts.js';
import { startTestQueryApi } from './testing/harness.js';
import { AGENCIES, type TestKey } from './testing/keys.js';

/**
 * Two fire services in one database — the same March, stations of the same names — read through
 * keys scoped to one, the other, both or every agency. Expected figures are worked out by hand
 * from testing/facts.ts; incident lists are recomputed from the fact list itself.
 */

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

const OURS = AGENCIES.fire;
const THEIRS = AGENCIES.neighbour;
const BOTH = `${THEIRS},${OURS}`;
const MARCH = 'from=2024-03-01&to=2024-03-31';
const KPI = `/v1/kpis?standard=fire-attendance-standard&${MARCH}`;
const BY_STATION = `/v1/kpis?standard=test-attendance&${MARCH}&groupBy=station`;
const INCIDENTS_URL = `/v1/incidents?${MARCH}`;
const REPORT = `/v1/reports/annual?${MARCH}&comparePrevious=true`;
const DATA_ENDPOINTS = [KPI, BY_STATION, INCIDENTS_URL, REPORT];
const CSV = { accept: 'text/csv' };

let api: Awaited<ReturnType<typeof startTestQueryApi>>;

beforeAll(async () => {
  api = await startTestQueryApi('qapiscope', { standards: [...loadStandards(), TEST_ATTENDANCE] });
});
afterAll(async () => {
  await api?.cleanup();
});

const as = (key: TestKey, url: string, headers: Record<string, string> = {}) =>
  api.get(url, headers, key);
const withAgency = (url: string, agency: string) => `${url}&agency=${agency}`;

/** The ids of the agencies' March incidents in the API's order (call time, then id), from the facts. */
function marchIds(agencies: string[]): string[] {
  return INCIDENTS.filter((fact) => {
    const agency = fact.agency ?? (fact.service === 'police' ? AGENCIES.police : AGENCIES.fire);
    return agencies.includes(agency) && fact.received.startsWith('2024-03');
  })
    .sort((a, b) => a.received.localeCompare(b.received) || a.id.localeCompare(b.id))
    .map((fact) => fact.id);
}
const idsOf = (body: { incidents: { incident_id: string }[] }) =>
  body.incidents.map((incident) => incident.incident_id);

describe('a key of one agency (real ClickHouse)', () => {
  it('gets only its own figures, per station too, where the other agency has the same stations', async () => {
    const ours = await as('dashboards', KPI);
    expect(ours.statusCode, ours.body).toBe(200);
    expect(ours.json().agencies).toEqual([OURS]);
    // SFR-0001–0007 in scope, 6 measured, 4 within the band's time (see query-api.int.test.ts).
    expect(ours.json().rows).toMatchObject([{ group: 'all', incidents: 7, n: 6, met: 4 }]);
    // CFR-0001 300 ≤ 480 ✓, -0002 600 > 480 ✗, -0003 650 > 600 ✗, -0004 1000 ≤ 1080 ✓,
    // -0006 450 ≤ 480 ✓ → 3 of 5, mean (300 + 600 + 650 + 1000 + 450) / 5 = 600 s.
    const theirs = await as('neighbour', KPI);
    expect(theirs.json().agencies).toEqual([THEIRS]);
    expect(theirs.json().rows).toMatchObject([
      { group: 'all', incidents: 5, n: 5, met: 3, value: 0.6, meanSeconds: 600, notMeasured: 0 },
    ]);
    const station = (key: TestKey) =>
      as(key, BY_STATION).then((response) =>
        (
          response.json().rows as { group: string; incidents: number; n: number; met: number }[]
        ).map(({ group, incidents, n, met }) => ({ group, incidents, n, met })),
      );
    // Ours: HANLEY 0001 ✓ 0002 ✗ 0003 ✓ (0007 not measured); LEEK 0004 ✗ 0005 ✓ 0006 ✓.
    expect(await station('dashboards')).toEqual([
      { group: 'HANLEY', incidents: 4, n: 3, met: 2 },
      { group: 'LEEK', incidents: 3, n: 3, met: 2 },
    ]);
    // Theirs: HANLEY CFR-0001 ✓ -0002 ✗; LEEK -0003 ✗ -0004 ✓ -0006 ✓.
    expect(await station('neighbour')).toEqual([
      { group: 'HANLEY', incidents: 2, n: 2, met: 1 },
      { group: 'LEEK', incidents: 3, n: 3, met: 2 },
    ]);
  });

  it('answers its own figures as CSV, the agency in every line', async () => {
    const response = await as('neighbour', BY_STATION, CSV);
    expect(response.statusCode).toBe(200);
    const [header, ...lines] = response.body.trimEnd().split('\r\n');
    expect(header?.split(',').slice(0, 6)).toEqual([
      'standard',
      'agencies',
      'from',
      'to',
      'groupBy',
      'group',
    ]);
    expect(lines.map((line) => line.split(',').slice(0, 6).join(','))).toEqual([
      'test-attendance,cheshire-fire,2024-03-01,2024-03-31,station,HANLEY',
      'test-attendance,cheshire-fire,2024-03-01,2024-03-31,station,LEEK',
    ]);
  });

  it('lists only its own incidents, and cannot find the other agency’s ids', async () => {
    const ours = await as('dashboards', INCIDENTS_URL);
    expect(ours.json().agencies).toEqual([OURS]);
    expect(idsOf(ours.json())).toEqual(marchIds([OURS]));
    expect(idsOf(ours.json())).toEqual([
      'SFR-0001',
      'SFR-0002',
      'SFR-0003',
      'SFR-0004',
      'SFR-0005',
      'SFR-0006',
      'SFR-0007',
      'SFR-0009',
      'SFR-0010',
    ]);
    const theirs = await as('neighbour', INCIDENTS_URL);
    expect(idsOf(theirs.json())).toEqual(marchIds([THEIRS]));
    expect(idsOf(theirs.json())).toEqual([
      'CFR-0001',
      'CFR-0002',
      'CFR-0003',
      'CFR-0004',
      'CFR-0006',
      'CFR-0005',
    ]);
    // An id prefix, a station or an area of the other agency finds nothing.
    for (const q of ['CFR', 'crewe']) {
      expect(idsOf((await as('dashboards', `${INCIDENTS_URL}&q=${q}`)).json()), q).toEqual([]);
    }
    for (const q of ['SFR', 'stoke', 'POL']) {
      expect(idsOf((await as('neighbour', `${INCIDENTS_URL}&q=${q}`)).json()), q).toEqual([]);
    }
    // A station both agencies have: each sees its own incidents there.
    const hanley = await as('neighbour', `${INCIDENTS_URL}&station=HANLEY`);
    expect(idsOf(hanley.json())).toEqual(['CFR-0001', 'CFR-0002', 'CFR-0005']);
  });

  it('exports only its own incidents as CSV', async () => {
    const response = await as('neighbour', INCIDENTS_URL, CSV);
    const [header, ...lines] = response.body.trimEnd().split('\r\n');
    const columns = header?.split(',') ?? [];
    const at = (name: string) => columns.indexOf(name);
    expect(lines.map((line) => line.split(',')[at('incident_id')])).toEqual(marchIds([THEIRS]));
    expect(new Set(lines.map((line) => line.split(',')[at('agency')]))).toEqual(new Set([THEIRS]));
  });

  it('gets its own annual report, and its previous period', async () => {
    const response = await as('neighbour', REPORT);
    expect(response.statusCode, response.body).toBe(200);
    const report = response.json();
    expect(report.agencies).toEqual([THEIRS]);
    expect(report.current.agencies).toEqual([THEIRS]);
    // CFR-0001–0004 and -0006 primary fires, CFR-0005 a secondary fire; none cancelled.
    expect(report.current.fireIncidents).toEqual({
      total: 6,
      primaryFires: 5,
      secondaryFires: 1,
      chimneyFires: 0,
      specialServices: 0,
      roadTrafficCollisions: 0,
      falseAlarms: 0,
      cancelled: 0,
    });
    expect(report.current.attendanceStandard).toMatchObject({ share: 0.6, n: 5, met: 3 });
    // Primary fires measured: 300, 600, 650, 1000, 450 s → 600 s = 10 min.
    expect(report.current.averageFireAttendance).toMatchObject({ minutes: 10, n: 5 });
    // 999 calls: 4, 6, 9, 9.5 and 25 s, one abandoned → 4 of 5 within 10 s, mean 53.5 / 5 s.
    expect(report.current.calls999).toMatchObject({
      calls: 6,
      answered: 5,
      abandoned: 1,
      withinTenSecondsShare: 0.8,
      meanWaitSeconds: 53.5 / 5,
      bands: [4, 1, 0],
    });
    // Its HANLEY pump: 743 hours in London's March, 24 off the run (mechanical).
    expect(report.current.wholetimeAvailability).toMatchObject({
      share: 719 / 743,
      hours: 743,
      offRunHoursByReason: { mechanical: 24 },
    });
    // Nothing of theirs in 30 January – 29 February (Staffordshire's SFR-0011 is not theirs).
    expect(report.previous.fireIncidents.total).toBe(0);
    expect(report.lines[0]).toMatchObject({ key: 'fire_incidents', value: 6, previous: 0 });

    const ours = (await as('dashboards', REPORT)).json();
    expect(ours.current.fireIncidents.total).toBe(8);
    expect(ours.current.calls999).toMatchObject({ calls: 6, withinTenSecondsShare: 0.6 });
    expect(ours.previous.fireIncidents.total).toBe(1);
  });

  it('exports its own annual report as CSV', async () => {
    const lines = (await as('neighbour', REPORT, CSV)).body.split('\r\n');
    expect(lines).toContain('fire_incidents,Fire incidents attended,count,6,0,');
    expect(lines).toContain('calls_999_within_10s,999 calls answered within 10 s,share,0.8,,0.9');
    expect(lines).toContain(
      `wholetime_availability,Whole-time appliance availability,share,${719 / 743},,0.98`,
    );
  });
});

describe('an agency the key may not read (real ClickHouse)', () => {
  it.each(DATA_ENDPOINTS)(
    '%s: 403 forbidden_agency naming it, in JSON and CSV, the same whether it has data or not, no query sent',
    async (url) => {
      for (const headers of [{}, CSV]) {
        for (const [key, other, own] of [
          ['dashboards', THEIRS, OURS],
          ['neighbour', OURS, THEIRS],
        ] as const) {
          const before = api.sent.length;
          const withData = await as(key, withAgency(url, other), headers);
          // An agency with no rows at all answers exactly the same, but for its name.
          const without = await as(key, withAgency(url, 'nowhere-fire'), headers);
          expect(api.sent.length, 'no query for a refused agency').toBe(before);
          expect(withData.statusCode).toBe(403);
          expect(withData.json()).toEqual({
            error: 'forbidden_agency',
            message: `the key "${key}" may not read agency "${other}"; it reads ${own}`,
          });
          expect(without.statusCode).toBe(403);
          expect(without.body.replace('nowhere-fire', other)).toBe(withData.body);
          expect(without.headers['content-length']).toBe(
            String(
              Number(withData.headers['content-length']) - other.length + 'nowhere-fire'.length,
            ),
          );
          // Its own agency beside the other one does not make the other readable.
          const mixed = await as(key, withAgency(url, `${own},${other}`), headers);
          expect(mixed.statusCode).toBe(403);
          expect(mixed.json().message).toContain(`agency "${other}";`);
        }
      }
    },
  );
});

describe('a key of both agencies (real ClickHouse)', () => {
  it('must say which agency (400 naming agency), then reads each apart', async () => {
    for (const url of DATA_ENDPOINTS) {
      const unsaid = await as('regional', url);
      expect(unsaid.statusCode, url).toBe(400);
      expect(unsaid.json().problems, url).toEqual([
        {
          parameter: 'agency',
          message:
            'say which agency to read (one or several: agency=a or agency=a,b); this key reads cheshire-fire, staffordshire-fire',
        },
      ]);
    }
    // Apart: exactly what each agency's own key reads, from every endpoint.
    for (const [agency, own] of [
      [OURS, 'dashboards'],
      [THEIRS, 'neighbour'],
    ] as const) {
      for (const url of DATA_ENDPOINTS) {
        for (const headers of [{}, CSV]) {
          const regional = await as('regional', withAgency(url, agency), headers);
          const alone = await as(own, url, headers);
          expect(regional.statusCode, url).toBe(200);
          expect(regional.body, `${url} ${agency}`).toBe(alone.body);
        }
      }
    }
  });

  it('reads both together, repeated or comma-separated', async () => {
    const together = await as('regional', withAgency(KPI, BOTH));
    expect(together.json().agencies).toEqual([THEIRS, OURS]);
    // 4 of 6 and 3 of 5: 7 of 11, from 7 + 5 incidents in scope.
    expect(together.json().rows).toMatchObject([
      { group: 'all', incidents: 12, n: 11, met: 7, value: 7 / 11 },
    ]);
    const repeated = await as('regional', `${KPI}&agency=${OURS}&agency=${THEIRS}`);
    expect(repeated.body).toBe(together.body);
    // groupBy=agency: both, apart, in one answer.
    const split = await as('regional', `${withAgency(KPI, BOTH)}&groupBy=agency`);
    expect(split.json().rows).toMatchObject([
      { group: THEIRS, n: 5, met: 3, value: 0.6 },
      { group: OURS, n: 6, met: 4, value: 4 / 6 },
    ]);
    // Incidents of both, in call order across the two.
    const incidents = await as('regional', withAgency(INCIDENTS_URL, BOTH));
    expect(idsOf(incidents.json())).toEqual(marchIds([OURS, THEIRS]));
    expect(idsOf(incidents.json()).slice(0, 4)).toEqual([
      'SFR-0001',
      'CFR-0001',
      'SFR-0002',
      'CFR-0002',
    ]);
    // The report of both: 8 + 6 fire incidents; 999 calls 3 + 4 of 5 + 5 within 10 s.
    const report = (await as('regional', withAgency(REPORT, BOTH))).json();
    expect(report.agencies).toEqual([THEIRS, OURS]);
    expect(report.current.fireIncidents).toMatchObject({
      total: 14,
      primaryFires: 12,
      secondaryFires: 2,
    });
    expect(report.current.attendanceStandard).toMatchObject({ n: 11, met: 7, share: 7 / 11 });
    expect(report.current.calls999).toMatchObject({
      calls: 12,
      answered: 10,
      abandoned: 2,
      withinTenSecondsShare: 0.7,
      meanWaitSeconds: (5 + 8 + 10 + 12 + 30 + 4 + 6 + 9 + 9.5 + 25) / 10,
      // ≤ 10 s: the 7 within 10 s (10.0 among them).
      bands: [7, 3, 0],
    });
    expect(report.current.wholetimeAvailability).toMatchObject({
      share: (695 + 719) / (743 * 2),
      hours: 743 * 2,
      offRunHoursByReason: { crewing: 48, mechanical: 24 },
    });
    expect(report.previous.fireIncidents.total).toBe(1);
  });
});

describe('other keys (real ClickHouse)', () => {
  it('the every-agency key says which agency too, then reads any', async () => {
    expect((await as('inspector', KPI)).statusCode).toBe(400);
    const theirs = await as('inspector', withAgency(KPI, THEIRS));
    expect(theirs.body).toBe((await as('neighbour', KPI)).body);
    const nowhere = await as('inspector', withAgency(INCIDENTS_URL, 'nowhere-fire'));
    expect(nowhere.statusCode).toBe(200);
    expect(idsOf(nowhere.json())).toEqual([]);
  });

  it('a key of a fire service and a police force reads each', async () => {
    const police = await as('analyst', withAgency(INCIDENTS_URL, AGENCIES.police));
    expect(idsOf(police.json())).toEqual(['POL-0001']);
    const fire = await as('analyst', withAgency(INCIDENTS_URL, OURS));
    expect(idsOf(fire.json())).toEqual(marchIds([OURS]));
    expect((await as('analyst', withAgency(INCIDENTS_URL, THEIRS))).statusCode).toBe(403);
  });

  it('a cursor from one agency’s pages never opens another’s', async () => {
    const first = (await as('regional', `${withAgency(INCIDENTS_URL, BOTH)}&limit=3`)).json();
    // SFR-0001, CFR-0001, SFR-0002: the cursor is a position (time, id, agency), not a permission.
    expect(idsOf(first)).toEqual(['SFR-0001', 'CFR-0001', 'SFR-0002']);
    const rest = await as('dashboards', `${INCIDENTS_URL}&cursor=${first.next_cursor}`);
    expect(idsOf(rest.json())).toEqual(marchIds([OURS]).slice(2));
  });

  it('pages through two agencies’ incidents of the same ids at the same instants, every one once', async () => {
    // Both services import one joint control room's export: same numbers, same call times. A
    // position of (time, id) alone ended a page between the two and skipped the second.
    const shared = ['JC-1', 'JC-2', 'JC-3'].map((id, index) => ({
      id,
      receivedAt: `2022-06-15T1${index}:00:00Z`,
      arrivalsAfter: [300],
    }));
    await landEvents(
      api.db.client,
      [OURS, THEIRS].flatMap((agency) =>
        shared.flatMap((fixture) => incidentFixtureEvents({ ...fixture, agency })),
      ),
    );
    const june = `/v1/incidents?from=2022-06-15&to=2022-06-15&agency=${BOTH}&limit=1`;
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: {
        incidents: { agency: string; incident_id: string }[];
        next_cursor: string | null;
      } = (await as('regional', cursor ? `${june}&cursor=${cursor}` : june)).json();
      seen.push(
        ...page.incidents.map(
          (row: { agency: string; incident_id: string }) => `${row.incident_id} ${row.agency}`,
        ),
      );
      cursor = page.next_cursor;
    } while (cursor !== null && seen.length <= 6);
    // In call order, then id, then agency: each agency's incident of an id, one after the other.
    expect(seen).toEqual(shared.flatMap(({ id }) => [`${id} ${THEIRS}`, `${id} ${OURS}`]));
  });
});
