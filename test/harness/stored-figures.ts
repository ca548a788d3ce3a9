import {
  callFactsSql,
  EVERY_AGENCY,
  incidentFactsSql,
  resourceIntervalsSql,
} from '@bluelight/clickhouse-schema';
import type { ClickHouseClient } from '@bluelight/service-kit';

/** Every entity's facts, whatever its day and agency, as every figure reads them. */
const EVERY_DAY = { from: `toDate('2000-01-01')`, to: `toDate('2100-01-01')` };
const INCIDENTS = `(${incidentFactsSql(EVERY_DAY, EVERY_AGENCY)})`;
const CALLS = `(${callFactsSql(EVERY_DAY, EVERY_AGENCY)})`;
const INTERVALS = `(${resourceIntervalsSql(
  {
    from: `toDateTime64('2000-01-01 00:00:00', 3, 'UTC')`,
    to: `toDateTime64('2100-01-01 00:00:00', 3, 'UTC')`,
  },
  EVERY_AGENCY,
)})`;

const ATTENDED = 'cancelled = 0 AND first_arrival_at >= call_received_at';
const ATTENDANCE_SECONDS = `dateDiff('millisecond', call_received_at, first_arrival_at) / 1000`;

/**
 * The simulator's published figures (FigureCounter's names) as stored in ClickHouse, in plain SQL
 * over the facts every figure reads — written apart from the standards engine, so a test can hold
 * both the engine and the facts to a recomputation from the events. Open availability intervals
 * end at `toMs`.
 */
export async function storedFigures(client: ClickHouseClient, toMs: number) {
  const one = async (sql: string) => {
    const result = await client.query({
      query: sql,
      query_params: { to: toMs / 1000 },
      format: 'JSONEachRow',
    });
    return (await result.json<Record<string, number | null>>())[0] ?? {};
  };
  const incidents = await one(`
    SELECT countIf(service = 'fire') AS fire, countIf(category = 'primary_fire') AS primary,
           countIf(category = 'secondary_fire') AS secondary,
           countIf(category_subtype = 'falls_assisting_other_agencies') AS falls
    FROM ${INCIDENTS} WHERE created_at IS NOT NULL`);
  const standard = await one(`
    SELECT countIf(${ATTENDANCE_SECONDS} <= multiIf(risk_band = 'high', 480, risk_band = 'medium', 600, 1080)) / count() AS met
    FROM ${INCIDENTS}
    WHERE ${ATTENDED} AND service = 'fire' AND life_risk = 1
      AND category_subtype != 'falls_assisting_other_agencies'`);
  const primary = await one(`
    SELECT avg(${ATTENDANCE_SECONDS}) / 60 AS mean
    FROM ${INCIDENTS} WHERE ${ATTENDED} AND category = 'primary_fire'`);
  const calls = await one(`
    SELECT countIf(answer_seconds <= 10) / count() AS within, avg(answer_seconds) AS wait
    FROM ${CALLS} WHERE line = '999' AND presented_at IS NOT NULL AND answer_seconds IS NOT NULL`);
  const triage = await one(`
    SELECT countIf(outcome = 'resolved_at_triage') / count() AS resolved,
           avg(dateDiff('millisecond', answered_at, closed_at)) / 60000 AS minutes
    FROM ${CALLS} WHERE line = '101' AND answered_at IS NOT NULL AND closed_at IS NOT NULL`);
  const availability = await one(`
    SELECT 1 - sumIf(span, crewing_model = 'wholetime' AND available = 0) / sumIf(span, crewing_model = 'wholetime') AS wholetime,
           1 - sumIf(span, crewing_model = 'on_call' AND available = 0) / sumIf(span, crewing_model = 'on_call') AS on_call
    FROM (
      SELECT crewing_model, available,
             dateDiff('millisecond', start_at, ifNull(end_at, toDateTime64({to:Float64}, 3, 'UTC'))) AS span
      FROM ${INTERVALS})`);
  return {
    fireIncidents: incidents.fire,
    primaryFires: incidents.primary,
    secondaryFires: incidents.secondary,
    fallsResponses: incidents.falls,
    attendanceStandardMet: standard.met,
    meanPrimaryFireAttendance: primary.mean,
    answered999Within10s: calls.within,
    mean999Wait: calls.wait,
    resolvedAtTriage101: triage.resolved,
    mean101Triage: triage.minutes,
    wholetimeAvailability: availability.wholetime,
    onCallAvailability: availability.on_call,
  };
}

/** The facts sources over every day, for tests that list or count every entity. */
export const ALL_FACTS = { incidents: INCIDENTS, calls: CALLS, intervals: INTERVALS };
