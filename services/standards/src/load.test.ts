import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  loadLayeredStandards,
  loadStandards,
  loadStandardsFromEnv,
  parseStandard,
  StandardsError,
  versionOn,
  versionsDuring,
} from './load.js';
import { REPORT_STANDARDS } from './report.js';

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

const base = `
id: test-standard
name: Test standard
description: For tests.
source: Tests
subject: incidents
`;

const version = (n: number, from: string, to?: string, threshold = 480) => `
  - version: ${n}
    effective_from: "${from}"${to ? `\n    effective_to: "${to}"` : ''}
    applies_to: { services: [fire], life_risk: true }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: ${threshold}, target_share: 0.8 }`;

function problems(text: string): string[] {
  try {
    parseStandard(text, 'test.yaml');
  } catch (error) {
    if (error instanceof StandardsError) return error.problems;
    throw error;
  }
  return [];
}

describe('standards configuration', () => {
  it('ships every standard the reports need, all valid', () => {
    const ids = loadStandards().map((standard) => standard.id);
    expect(ids.sort()).toEqual([
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
    ]);
    // The annual report reads each of these.
    for (const id of Object.values(REPORT_STANDARDS)) expect(ids).toContain(id);
  });

  it('fills the Home Office exclusions and minimum sample by default', () => {
    const standard = parseStandard(`${base}versions:${version(1, '2020-04-01')}`, 'test.yaml');
    expect(standard.versions[0]).toMatchObject({
      minimum_sample: 5,
      exclusions: {
        late_call: true,
        derelict_property: true,
        abandoned_road_vehicle: true,
        out_of_sequence: true,
        total_over_seconds: 3_600,
        total_under_seconds: 60,
      },
    });
  });

  it('picks the version in force on a date, and splits a period at a change', () => {
    const standard = parseStandard(
      `${base}versions:${version(1, '2020-04-01', '2023-10-01')}${version(2, '2023-10-01', undefined, 420)}`,
      'test.yaml',
    );
    expect(versionOn(standard, '2020-03-31')).toBeUndefined();
    expect(versionOn(standard, '2023-09-30')?.version).toBe(1);
    expect(versionOn(standard, '2023-10-01')?.version).toBe(2);
    expect(
      versionsDuring(standard, '2023-04-01', '2024-04-01').map(({ version: v, from, to }) => [
        v.version,
        from,
        to,
      ]),
    ).toEqual([
      [1, '2023-04-01', '2023-10-01'],
      [2, '2023-10-01', '2024-04-01'],
    ]);
  });

  it('refuses gaps, overlaps and numbering out of order, naming the field', () => {
    expect(
      problems(
        `${base}versions:${version(1, '2020-04-01', '2021-01-01')}${version(2, '2021-02-01')}`,
      ),
    ).toEqual([
      "test.yaml: versions[0].effective_to: must be 2021-02-01, the next version's effective_from (no gap, no overlap)",
    ]);
    expect(problems(`${base}versions:${version(2, '2020-04-01')}`)).toEqual([
      'test.yaml: versions[0].version: expected 1 (versions are numbered in order from 1)',
    ]);
  });

  it('refuses a clock that stops before it starts, and bad values, naming the path', () => {
    const backwards = `${base}versions:
  - version: 1
    effective_from: "2020-04-01"
    applies_to: { services: [fire] }
    clock: { start: first_arrival, stop: first_mobilised }
    statistic: { kind: mean }`;
    expect(problems(backwards)).toEqual([
      'test.yaml: versions[0].clock.stop: first_mobilised does not come after first_arrival',
    ]);
    const bad = `${base}versions:
  - version: 1
    effective_from: "1 April 2020"
    applies_to: { services: [fire], risk_bands: [extreme] }
    clock: { start: call_received, stop: first_arrival }
    statistic: { kind: share_within, threshold_seconds: -5, target_share: 80 }`;
    expect(problems(bad).sort()).toEqual([
      'test.yaml: versions.0.applies_to.risk_bands.0: Invalid option: expected one of "high"|"medium"|"low"',
      'test.yaml: versions.0.effective_from: expected a date YYYY-MM-DD (London)',
      'test.yaml: versions.0.statistic.target_share: Too big: expected number to be <=1',
      expect.stringMatching(/^test\.yaml: versions\.0\.statistic\.threshold_seconds: /),
    ]);
  });

  it('refuses two files with the same id', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'standards-'));
    folders.push(folder);
    const text = `${base}versions:${version(1, '2020-04-01')}`;
    await writeFile(path.join(folder, 'a.yaml'), text);
    await writeFile(path.join(folder, 'b.yaml'), text);
    expect(() => loadStandards(folder)).toThrow(/standard id test-standard is used by 2 files/);
  });
});

describe('user standards layered over the shipped ones', () => {
  const userFolder = async (files: Record<string, string>) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'user-standards-'));
    folders.push(dir);
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
    return dir;
  };
  const shippedIds = loadStandards().map((standard) => standard.id);

  it('adds a new standard and overrides one of the same id, saying so', async () => {
    const dir = await userFolder({
      'mine.yaml': `${base}versions:${version(1, '2020-04-01')}`,
      'sas.yaml': `${base.replace('test-standard', 'fire-attendance-standard')}versions:${version(1, '2015-04-01', undefined, 420)}`,
    });
    const warnings: string[] = [];
    const standards = loadLayeredStandards({ userDir: dir, onOverride: (w) => warnings.push(w) });
    expect(standards.map((standard) => standard.id)).toEqual(
      [...shippedIds, 'test-standard'].sort(),
    );
    const sas = standards.find((standard) => standard.id === 'fire-attendance-standard');
    expect(sas?.name).toBe('Test standard');
    expect(sas?.versions[0]?.statistic).toMatchObject({ threshold_seconds: 420 });
    expect(warnings).toEqual([
      `standard fire-attendance-standard from ${dir} overrides the shipped one`,
    ]);
    // The same from the environment (STANDARDS_USER_DIR).
    expect(
      loadStandardsFromEnv({ STANDARDS_USER_DIR: dir }).map((standard) => standard.id),
    ).toEqual(standards.map((standard) => standard.id));
    expect(loadStandardsFromEnv({}).map((standard) => standard.id)).toEqual(shippedIds);
  });

  it('checks user files as the shipped ones are, naming the folder and file', async () => {
    const dir = await userFolder({
      'bad.yaml': `${base}versions:${version(2, '2020-04-01')}`,
      'a.yaml': `${base}versions:${version(1, '2020-04-01')}`,
      'b.yaml': `${base}versions:${version(1, '2020-04-01')}`,
    });
    let problemsFound: string[] = [];
    try {
      loadLayeredStandards({ userDir: dir });
    } catch (error) {
      if (!(error instanceof StandardsError)) throw error;
      problemsFound = error.problems;
    }
    expect(problemsFound).toEqual([
      `${dir}/bad.yaml: versions[0].version: expected 1 (versions are numbered in order from 1)`,
      `${dir}/standard id test-standard is used by 2 files`,
    ]);
  });
});
