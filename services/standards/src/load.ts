import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { type StandardDefinition, type StandardVersion, standardDefinition } from './definition.js';

export const SHIPPED_STANDARDS_DIR = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../config',
);

/** A standard file that cannot be used, with where and why. */
export class StandardsError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `invalid standards configuration:\n${problems.map((problem) => `  ${problem}`).join('\n')}`,
    );
    this.name = 'StandardsError';
  }
}

/** The order clocks run in: a stop must come after its start. */
const CLOCK_ORDER = [
  'call_presented',
  'call_received',
  'call_answered',
  'incident_created',
  'first_mobilised',
  'first_mobile',
  'first_arrival',
  'second_arrival',
  'call_closed',
];

/**
 * Rules a type cannot state. Versions are a history: numbered 1, 2, … in order, each in force from
 * its date until the next one's, with no gap or overlap, so a figure for any period is computed
 * with the definitions in force then — a changed standard never silently rewrites history.
 */
function versionProblems(standard: StandardDefinition): string[] {
  const problems: string[] = [];
  standard.versions.forEach((version, index) => {
    const where = `versions[${index}]`;
    if (version.version !== index + 1)
      problems.push(
        `${where}.version: expected ${index + 1} (versions are numbered in order from 1)`,
      );
    const next = standard.versions[index + 1];
    if (next && version.effective_to !== next.effective_from) {
      problems.push(
        `${where}.effective_to: must be ${next.effective_from}, the next version's effective_from (no gap, no overlap)`,
      );
    }
    if (version.effective_to !== undefined && version.effective_to <= version.effective_from) {
      problems.push(`${where}.effective_to: must be after effective_from`);
    }
    if ('clock' in version) {
      const start = CLOCK_ORDER.indexOf(version.clock.start);
      const stop = CLOCK_ORDER.indexOf(version.clock.stop);
      if (stop <= start)
        problems.push(
          `${where}.clock.stop: ${version.clock.stop} does not come after ${version.clock.start}`,
        );
    }
    if (standard.subject === 'availability' && version.statistic.kind !== 'share_available') {
      problems.push(`${where}.statistic.kind: availability standards use share_available`);
    }
    if (standard.subject !== 'availability' && version.statistic.kind === 'share_available') {
      problems.push(`${where}.statistic.kind: share_available is for availability standards`);
    }
    const threshold =
      version.statistic.kind === 'share_within' ? version.statistic.threshold_seconds : undefined;
    const byAreaType = typeof threshold === 'object' && 'by_area_type' in threshold;
    const services =
      standard.subject === 'incidents' ? standard.versions[index]?.applies_to.services : [];
    if (byAreaType && (services ?? []).some((service) => service !== 'police')) {
      problems.push(
        `${where}.statistic.threshold_seconds: thresholds by area type are for police incidents`,
      );
    }
  });
  return problems;
}

export function parseStandard(text: string, file: string): StandardDefinition {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new StandardsError([`${file}: not valid YAML: ${(error as Error).message}`]);
  }
  const result = standardDefinition.safeParse(raw);
  if (!result.success) {
    throw new StandardsError(
      result.error.issues.map(
        (issue) => `${file}: ${issue.path.map(String).join('.') || '(file)'}: ${issue.message}`,
      ),
    );
  }
  const problems = versionProblems(result.data).map((problem) => `${file}: ${problem}`);
  if (problems.length > 0) throw new StandardsError(problems);
  return result.data;
}

/** Every standard in a folder (default: the shipped ones), checked; ids must be unique. */
export function loadStandards(dir = SHIPPED_STANDARDS_DIR): StandardDefinition[] {
  const files = readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort();
  const standards: StandardDefinition[] = [];
  const problems: string[] = [];
  for (const name of files) {
    try {
      standards.push(parseStandard(readFileSync(path.join(dir, name), 'utf8'), name));
    } catch (error) {
      if (error instanceof StandardsError) problems.push(...error.problems);
      else throw error;
    }
  }
  const seen = new Map<string, number>();
  for (const standard of standards) seen.set(standard.id, (seen.get(standard.id) ?? 0) + 1);
  for (const [id, count] of seen)
    if (count > 1) problems.push(`standard id ${id} is used by ${count} files`);
  if (problems.length > 0) throw new StandardsError(problems);
  return standards;
}

/** The version in force on a London date, or undefined before the first one. */
export function versionOn(standard: StandardDefinition, date: string): StandardVersion | undefined {
  return (standard.versions as StandardVersion[]).find(
    (version) =>
      version.effective_from <= date &&
      (version.effective_to === undefined || date < version.effective_to),
  );
}

/** The versions in force over [from, to) (London dates), each with the part of the period it covers. */
export function versionsDuring(standard: StandardDefinition, from: string, to: string) {
  return (standard.versions as StandardVersion[])
    .filter(
      (version) =>
        version.effective_from < to &&
        (version.effective_to === undefined || version.effective_to > from),
    )
    .map((version) => ({
      version,
      from: version.effective_from > from ? version.effective_from : from,
      to:
        version.effective_to !== undefined && version.effective_to < to ? version.effective_to : to,
    }));
}

/** Where standards are read from: the base (shipped, or a replacement folder) and a user layer. */
export interface StandardsLayers {
  /** A folder replacing the shipped standards (STANDARDS_DIR); default: the shipped ones. */
  baseDir?: string | undefined;
  /** A folder of the user's own standards (STANDARDS_USER_DIR) layered over the base. */
  userDir?: string | undefined;
  /** Told of each user standard that replaces a base one of the same id. */
  onOverride?: (message: string) => void;
}

/**
 * The base standards with the user's layered over them: each user file is checked as a shipped
 * one is (and user ids must be unique among themselves); a user standard with a base one's id
 * replaces it, and `onOverride` is told so; the others are added. The result is sorted by id.
 */
export function loadLayeredStandards(layers: StandardsLayers = {}): StandardDefinition[] {
  const base = loadStandards(layers.baseDir ?? SHIPPED_STANDARDS_DIR);
  if (layers.userDir === undefined) return base;
  let user: StandardDefinition[];
  try {
    user = loadStandards(layers.userDir);
  } catch (error) {
    if (error instanceof StandardsError)
      throw new StandardsError(error.problems.map((problem) => `${layers.userDir}/${problem}`));
    throw error;
  }
  const byId = new Map(base.map((standard) => [standard.id, standard]));
  for (const standard of user) {
    if (byId.has(standard.id)) {
      layers.onOverride?.(
        `standard ${standard.id} from ${layers.userDir} overrides the ${layers.baseDir ? `one in ${layers.baseDir}` : 'shipped one'}`,
      );
    }
    byId.set(standard.id, standard);
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The standards the environment names: STANDARDS_DIR (else the shipped ones) and STANDARDS_USER_DIR. */
export function loadStandardsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  onOverride?: (message: string) => void,
): StandardDefinition[] {
  return loadLayeredStandards({
    baseDir: env.STANDARDS_DIR || undefined,
    userDir: env.STANDARDS_USER_DIR || undefined,
    ...(onOverride ? { onOverride } : {}),
  });
}
