import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MigrationError } from './errors.js';
import {
  FILE_NAME_RULE,
  MIGRATION_FILE_NAME,
  type Migration,
  parseMigration,
} from './migration-file.js';

/** Bluelight's own migrations, shipped beside this package's source. */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));

const fourDigits = (version: number) => String(version).padStart(4, '0');

/**
 * Problems with the set of file names: each must be NNNN_snake_name.sql, and the numbers must be
 * unique and run from 0001 without gaps, so every database applies the same list in one order.
 */
export function sequenceProblems(fileNames: string[]): string[] {
  const problems: string[] = [];
  const filesByVersion = new Map<number, string[]>();
  for (const fileName of fileNames) {
    const version = MIGRATION_FILE_NAME.exec(fileName)?.[1];
    if (version === undefined) {
      problems.push(`${fileName}: ${FILE_NAME_RULE}`);
      continue;
    }
    const files = filesByVersion.get(Number(version)) ?? [];
    files.push(fileName);
    filesByVersion.set(Number(version), files);
  }
  for (const [version, files] of [...filesByVersion].sort(([a], [b]) => a - b)) {
    if (files.length > 1) {
      problems.push(
        `${fourDigits(version)} is used by ${files.sort().join(' and ')}; each migration needs its own number`,
      );
    }
  }
  const highest = Math.max(0, ...filesByVersion.keys());
  const missing: string[] = [];
  for (let version = 1; version <= highest; version++) {
    if (!filesByVersion.has(version)) missing.push(fourDigits(version));
  }
  if (filesByVersion.has(0)) problems.push('0000 is not allowed: numbers start at 0001');
  if (missing.length > 0) {
    problems.push(`numbers must run from 0001 without gaps; missing: ${missing.join(', ')}`);
  }
  return problems;
}

/**
 * Reads, parses and checks every `.sql` file in `dir` (other files, such as a README, are
 * ignored). Throws one MigrationError listing every problem found, so they can be fixed at once.
 */
export async function loadMigrations(dir = DEFAULT_MIGRATIONS_DIR): Promise<Migration[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new MigrationError(`there is no migrations directory at ${dir}`);
    }
    throw error;
  }
  const fileNames = entries.filter((entry) => entry.endsWith('.sql')).sort();
  const problems = sequenceProblems(fileNames);
  const migrations: Migration[] = [];
  for (const fileName of fileNames) {
    if (!MIGRATION_FILE_NAME.test(fileName)) continue;
    try {
      migrations.push(parseMigration(fileName, await readFile(path.join(dir, fileName), 'utf8')));
    } catch (error) {
      if (!(error instanceof MigrationError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) {
    throw new MigrationError(
      `the migrations in ${dir} cannot be used:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
  return migrations.sort((a, b) => a.version - b.version);
}
