import { describe, expect, it } from 'vitest';
import { parseStandard } from './load.js';
import { standardCoverage } from './report.js';

/** A calls standard in force from 2020-04-01, in two versions, ended 2030-04-01 (exclusive). */
const STANDARD = parseStandard(
  `id: test-calls
name: Test
description: Test.
source: Test
subject: calls
versions:
  - version: 1
    effective_from: "2020-04-01"
    effective_to: "2024-04-01"
    applies_to: { lines: ["999"] }
    clock: { start: call_presented, stop: call_answered }
    statistic: { kind: share_within, threshold_seconds: 10, target_share: 0.9 }
  - version: 2
    effective_from: "2024-04-01"
    effective_to: "2030-04-01"
    applies_to: { lines: ["999"] }
    clock: { start: call_presented, stop: call_answered }
    statistic: { kind: share_within, threshold_seconds: 10, target_share: 0.9 }
`,
  'test-calls.yaml',
);

describe('standardCoverage', () => {
  it('covers the whole period when a version is in force on every day', () => {
    expect(standardCoverage(STANDARD, { from: '2023-04-01', to: '2025-03-31' })).toEqual({
      covers: { from: '2023-04-01', to: '2025-03-31' },
      uncovered: [],
    });
  });

  it('says which days a period partly before the standard covers, and that the rest precedes it', () => {
    expect(standardCoverage(STANDARD, { from: '2019-04-01', to: '2021-03-31' })).toEqual({
      covers: { from: '2020-04-01', to: '2021-03-31' },
      uncovered: [
        {
          from: '2019-04-01',
          to: '2020-03-31',
          reason: 'precedes the standard test-calls (in force from 2020-04-01)',
        },
      ],
    });
  });

  it('covers nothing of a period wholly before the standard, or wholly after it ended', () => {
    expect(standardCoverage(STANDARD, { from: '2019-04-01', to: '2020-03-31' })).toEqual({
      covers: null,
      uncovered: [
        {
          from: '2019-04-01',
          to: '2020-03-31',
          reason: 'precedes the standard test-calls (in force from 2020-04-01)',
        },
      ],
    });
    expect(standardCoverage(STANDARD, { from: '2030-04-01', to: '2030-04-30' }).uncovered).toEqual([
      {
        from: '2030-04-01',
        to: '2030-04-30',
        reason: 'follows the standard test-calls (its last version ended 2030-04-01)',
      },
    ]);
  });

  it('names both ends of a period longer than the standard', () => {
    expect(standardCoverage(STANDARD, { from: '2020-03-31', to: '2030-04-01' })).toEqual({
      covers: { from: '2020-04-01', to: '2030-03-31' },
      uncovered: [
        {
          from: '2020-03-31',
          to: '2020-03-31',
          reason: 'precedes the standard test-calls (in force from 2020-04-01)',
        },
        {
          from: '2030-04-01',
          to: '2030-04-01',
          reason: 'follows the standard test-calls (its last version ended 2030-04-01)',
        },
      ],
    });
  });
});
