import {
  dataQualityScenario,
  type ExpectedRecord,
  expectedCounts,
  iso,
} from '@bluelight/standards/testing/data-quality';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestQueryApi } from './testing/harness.js';
import { AGENCIES } from './testing/keys.js';

/**
 * The data-quality endpoints over hand-built incidents (Staffordshire fire) and calls
 * (Staffordshire police's control room, so the analyst key reads both), plus a neighbour's: the
 * counts and records equal the scenario's hand-made list, for each key's agencies alone.
 */
const scenario = dataQualityScenario({
  fire: AGENCIES.fire,
  calls: AGENCIES.police,
  neighbour: AGENCIES.neighbour,
});
const PERIOD = `from=${scenario.from}&to=${scenario.to}`;
const CSV = { accept: 'text/csv' };

let api: Awaited<ReturnType<typeof startTestQueryApi>>;
beforeAll(async () => {
  api = await startTestQueryApi('qapiquality', { events: scenario.events });
});
afterAll(async () => {
  await api?.cleanup();
});

const key = (record: { check: string; agency: string; id: string }) =>
  `${record.check}|${record.agency}|${record.id}`;
const keysOf = (records: readonly { check: string; agency: string; id: string }[]) =>
  records.map(key).sort();

/** The records of the given agencies; a call of an agency not read links to no incident. */
function expectedFor(agencies: string[]): ExpectedRecord[] {
  return scenario.expected.filter(
    (record) =>
      agencies.includes(record.agency) &&
      (record.id !== 'INC-C2' || agencies.includes(AGENCIES.police)),
  );
}

describe('GET /v1/data-quality', () => {
  it('counts the records of each check, in total and per agency and source', async () => {
    const response = await api.get(
      `/v1/data-quality?${PERIOD}&agency=${AGENCIES.fire},${AGENCIES.police}`,
      {},
      'analyst',
    );
    expect(response.statusCode).toBe(200);
    const body = response.json();
    const expected = expectedFor([AGENCIES.fire, AGENCIES.police]);
    expect(body.totals).toEqual(expectedCounts(expected));
    expect(body.agencies).toEqual([AGENCIES.fire, AGENCIES.police].sort());
    const bySource: Record<string, ExpectedRecord[]> = {};
    for (const record of expected) {
      const at = `${record.agency}|${record.source}`;
      bySource[at] = [...(bySource[at] ?? []), record];
    }
    expect(
      Object.fromEntries(
        body.sources.map((entry: { agency: string; source: string; checks: object }) => [
          `${entry.agency}|${entry.source}`,
          entry.checks,
        ]),
      ),
    ).toEqual(
      Object.fromEntries(
        Object.entries(bySource).map(([at, records]) => [at, expectedCounts(records)]),
      ),
    );
    expect(Object.keys(body.checks)).toEqual(Object.keys(expectedCounts([])));
  });

  it("reads only the key's agencies and refuses another's (403)", async () => {
    const ours = await api.get(`/v1/data-quality?${PERIOD}`);
    expect(ours.statusCode).toBe(200);
    expect(ours.json().totals).toEqual(expectedCounts(expectedFor([AGENCIES.fire])));
    const theirs = await api.get(`/v1/data-quality?${PERIOD}`, {}, 'neighbour');
    expect(theirs.json().totals).toEqual(expectedCounts(expectedFor([AGENCIES.neighbour])));
    const refused = await api.get(`/v1/data-quality?${PERIOD}&agency=${AGENCIES.neighbour}`);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error).toBe('forbidden_agency');
  });

  it('answers CSV: one line per agency and source', async () => {
    const response = await api.get(`/v1/data-quality?${PERIOD}`, CSV);
    expect(response.headers['content-type']).toMatch(/^text\/csv/);
    const [header, ...lines] = response.body.trim().split('\r\n');
    expect(header).toBe(
      'from,to,agency,source,out_of_sequence,missing_mobilisation,missing_arrival,no_clock_stop,clock_skew,late_ingest',
    );
    const expected = expectedFor([AGENCIES.fire]);
    const sources = [...new Set(expected.map((record) => record.source))].sort();
    expect(lines.map((line) => line.split(',')[3]).sort()).toEqual(sources);
    const legacy = lines.find((line) => line.split(',')[3] === 'legacy-cad');
    expect(legacy).toBe(`${scenario.from},${scenario.to},${AGENCIES.fire},legacy-cad,0,1,0,0,0,0`);
  });

  it('names a bad parameter (400)', async () => {
    const missing = await api.get('/v1/data-quality?from=2024-03-01');
    expect(missing.statusCode).toBe(400);
    expect(missing.json().problems).toEqual([{ parameter: 'to', message: expect.any(String) }]);
    const badCheck = await api.get(`/v1/data-quality/records?${PERIOD}&check=typos`);
    expect(badCheck.statusCode).toBe(400);
    expect(badCheck.json().problems[0].parameter).toBe('check');
  });
});

describe('GET /v1/data-quality/records', () => {
  it('lists exactly the flagged records of the checks asked for', async () => {
    const all = await api.get(
      `/v1/data-quality/records?${PERIOD}&agency=${AGENCIES.fire},${AGENCIES.police}`,
      {},
      'analyst',
    );
    expect(all.statusCode).toBe(200);
    const expected = expectedFor([AGENCIES.fire, AGENCIES.police]);
    expect(keysOf(all.json().records)).toEqual(keysOf(expected));
    const skew = await api.get(
      `/v1/data-quality/records?${PERIOD}&agency=${AGENCIES.fire},${AGENCIES.police}&check=clock_skew`,
      {},
      'analyst',
    );
    const skewRecords = skew.json().records;
    expect(keysOf(skewRecords)).toEqual(
      keysOf(expected.filter((record) => record.check === 'clock_skew')),
    );
    expect(skewRecords.find((record: { id: string }) => record.id === 'INC-C2')).toMatchObject({
      entity: 'incident',
      at: iso(scenario.base),
      seconds: 300,
    });
  });

  it('pages with offset (JSON and CSV) and never mixes in an agency not read', async () => {
    const expected = expectedFor([AGENCIES.fire]);
    const seen: string[] = [];
    let offset: number | null = 0;
    while (offset !== null) {
      const response = await api.get(`/v1/data-quality/records?${PERIOD}&limit=3&offset=${offset}`);
      const body = response.json();
      expect(body.records.length).toBeLessThanOrEqual(3);
      seen.push(...body.records.map(key));
      offset = body.next_offset;
    }
    expect(seen.sort()).toEqual(keysOf(expected));

    const csv = await api.get(`/v1/data-quality/records?${PERIOD}&limit=3`, CSV);
    expect(csv.headers['x-next-offset']).toBe('3');
    const [header, ...lines] = csv.body.trim().split('\r\n');
    expect(header).toBe('check,agency,source,entity,id,day,at,detail,seconds');
    expect(lines).toHaveLength(3);
  });
});
