import { describe, expect, it } from 'vitest';
import type { IncidentStandardVersion, KpiRow } from '../incident-kpi.js';
import { loadStandards } from '../load.js';
import { COVER_STATES, coverDifferences } from './cover.js';

const version = loadStandards()
  .find((standard) => standard.id === 'fire-attendance-standard')
  ?.versions.at(-1) as IncidentStandardVersion;

function row(group: string, n: number, met: number, meanSeconds: number): KpiRow {
  return {
    group,
    incidents: n,
    cancelled: 0,
    n,
    met,
    not_measured_count: 0,
    excluded_total: 0,
    with_outcome: 0,
    mean_seconds: meanSeconds,
    percentile_seconds: meanSeconds,
    excluded_late_call: 0,
    excluded_derelict_property: 0,
    excluded_abandoned_road_vehicle: 0,
    excluded_out_of_sequence: 0,
    excluded_total_over: 0,
    excluded_total_under: 0,
  };
}

describe('the on-call cover difference', () => {
  it('is the share and mean difference with a 95% interval once both sides have the minimum', () => {
    const [all] = coverDifferences(
      version,
      [
        row(COVER_STATES.available, 100, 85, 500),
        row(COVER_STATES.unavailable, 50, 30, 650),
        row(COVER_STATES.none, 400, 320, 480),
      ],
      30,
    );
    // 0.85 − 0.60 = 0.25; se = √(0.85·0.15/100 + 0.6·0.4/50) = √(0.001275 + 0.0048) = 0.077942…
    const se = Math.sqrt(0.001275 + 0.0048);
    expect(all?.station).toBe('all');
    expect(all?.n).toEqual({ available: 100, unavailable: 50 });
    expect(all?.shareDifference).toBeCloseTo(0.25, 12);
    expect(all?.shareDifference95?.[0]).toBeCloseTo(0.25 - 1.96 * se, 12);
    expect(all?.shareDifference95?.[1]).toBeCloseTo(0.25 + 1.96 * se, 12);
    expect(all?.meanSecondsDifference).toBe(150);
    expect(all?.insufficientData).toBe(false);
  });

  it('gives no difference while a side is below the minimum sample, but still its sizes', () => {
    const rows = coverDifferences(
      version,
      [
        row(`LEEK|${COVER_STATES.available}`, 40, 30, 500),
        row(`LEEK|${COVER_STATES.unavailable}`, 29, 20, 700),
      ],
      30,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      station: 'LEEK',
      n: { available: 40, unavailable: 29 },
      insufficientData: true,
      shareDifference: null,
      shareDifference95: null,
      meanSecondsDifference: null,
    });
  });
});
