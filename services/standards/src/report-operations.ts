import type { ClickHouseClient } from '@clickhouse/client';
import type { StandardDefinition } from './definition.js';
import {
  computeCoverAttendance,
  computeFirstArrivals,
  computeUtilisation,
} from './operations/index.js';

/**
 * The annual report's "Appliances and cover" section (docs/report.md): which crewing model's
 * appliance arrived first, how busy each station was, and what on-call availability did to the
 * attendance standard — each the query API's own operational figure (docs/operations.md) over the
 * report's period and agencies.
 */

/** The standard the cover split judges (the report's attendance standard). */
export const REPORT_COVER_STANDARD = 'fire-attendance-standard';

export async function operationsSection(
  client: ClickHouseClient,
  standards: StandardDefinition[],
  period: { from: string; to: string },
  agencies: readonly string[],
) {
  const request = { agencies, from: period.from, to: period.to };
  const [firstArrivals, utilisation, cover] = await Promise.all([
    computeFirstArrivals(client, request),
    computeUtilisation(client, { ...request, groupBy: 'station' }),
    computeCoverAttendance(client, standards, { ...request, standard: REPORT_COVER_STANDARD }),
  ]);
  // One overall row of each side (grounds without an on-call appliance are not split).
  const split = cover.differences[0];
  const side = (result: NonNullable<typeof split>['available']) =>
    result
      ? {
          n: result.n,
          met: result.met ?? null,
          share: result.value,
          meanSeconds: result.meanSeconds,
        }
      : null;
  return {
    title: 'Appliances and cover',
    firstArrivingCrewingModel: firstArrivals.rows.map((row) => ({
      crewingModel: row.crewingModel,
      incidents: row.incidents,
      share: row.share,
      meanAttendanceSeconds: row.attendance.meanSeconds,
    })),
    utilisationByStation: utilisation.rows.map((row) => ({
      station: row.group,
      utilisation: row.utilisation,
      committedHours: row.committedHours,
      onTheRunHours: row.availableHours,
    })),
    onCallCover: {
      standard: cover.standard,
      minimumSample: cover.minimumSample,
      n: split?.n ?? { available: 0, unavailable: 0 },
      onTheRun: side(split?.available ?? null),
      offTheRun: side(split?.unavailable ?? null),
      insufficientData: split?.insufficientData ?? true,
      shareDifference: split?.shareDifference ?? null,
      shareDifference95: split?.shareDifference95 ?? null,
      meanSecondsDifference: split?.meanSecondsDifference ?? null,
    },
  };
}

export type OperationsSection = Awaited<ReturnType<typeof operationsSection>>;

const percent = (share: number | null) => (share === null ? 'n/a' : `${(share * 100).toFixed(1)}%`);
const points = (share: number) => `${share >= 0 ? '+' : '−'}${Math.abs(share * 100).toFixed(1)}`;
const minutes = (seconds: number | null) =>
  seconds === null ? 'n/a' : `${(seconds / 60).toFixed(2)} min`;
const CREWING: Record<string, string> = {
  wholetime: 'whole-time',
  on_call: 'on-call',
  day_crewed: 'day-crewed',
};

/** The section as text lines (the CLI report's table output, after the annual table). */
export function operationsSectionText(section: OperationsSection): string[] {
  const lines = [section.title, ''];
  lines.push('First-arriving appliance, by crewing model');
  if (section.firstArrivingCrewingModel.length === 0) lines.push('  no incident attended');
  for (const row of section.firstArrivingCrewingModel) {
    lines.push(
      `  ${(CREWING[row.crewingModel] ?? row.crewingModel).padEnd(12)} ${String(row.incidents).padStart(7)}  ${percent(row.share).padStart(6)}  mean attendance ${minutes(row.meanAttendanceSeconds)}`,
    );
  }
  lines.push('', 'Utilisation by station (time committed ÷ time on the run)');
  if (section.utilisationByStation.length === 0) lines.push('  no appliance time');
  const width = Math.max(0, ...section.utilisationByStation.map((row) => row.station.length));
  for (const row of section.utilisationByStation) {
    lines.push(
      `  ${row.station.padEnd(width)}  ${percent(row.utilisation).padStart(6)}  of ${row.onTheRunHours.toFixed(0)} h on the run`,
    );
  }
  const cover = section.onCallCover;
  lines.push('', `On-call cover and attendance (${cover.standard.id}, on-call stations' grounds)`);
  const sideLine = (label: string, n: number, side: typeof cover.onTheRun) =>
    `  ${label}: n = ${n}, met ${percent(side?.share ?? null)}, mean ${minutes(side?.meanSeconds ?? null)}`;
  lines.push(
    sideLine('on-call appliance on the run at the call ', cover.n.available, cover.onTheRun),
  );
  lines.push(
    sideLine('on-call appliance off the run at the call', cover.n.unavailable, cover.offTheRun),
  );
  if (cover.insufficientData || cover.shareDifference === null) {
    lines.push(
      `  difference: insufficient data (a side has fewer than ${cover.minimumSample} incidents)`,
    );
  } else {
    const [low, high] = cover.shareDifference95 ?? [Number.NaN, Number.NaN];
    const mean =
      cover.meanSecondsDifference === null
        ? ''
        : `; off the run ${(cover.meanSecondsDifference / 60).toFixed(2)} min later on average`;
    lines.push(
      `  difference: ${points(cover.shareDifference)} points on the run (95% interval ${points(low)} to ${points(high)})${mean}`,
    );
  }
  return lines;
}
