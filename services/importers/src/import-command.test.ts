import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
// The CLI command lives in services/cli (which depends on this package); it is tested here, in
// process, until main.ts registers it and the CLI's own tests can start it as a process.
import { registerImportCommand } from '../../cli/src/commands/import.js';
import { UserFacingError } from '../../cli/src/exit-codes.js';
import { readCsvText, SAMPLES } from './testing/samples.js';

const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url));

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), 'bluelight-import-cli-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** Runs `bluelight import …` as main.ts does: commander errors are usage errors (2). */
async function bluelightImport(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const program = new Command('bluelight').exitOverride().configureOutput({
    writeOut: (text) => {
      stdout += text;
    },
    writeErr: (text) => {
      stderr += text;
    },
  });
  registerImportCommand(program);
  const capture = (append: (text: string) => void) => (chunk: string | Uint8Array) => {
    append(String(chunk));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(
    capture((text) => {
      stdout += text;
    }),
  );
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(
    capture((text) => {
      stderr += text;
    }),
  );
  let code: number;
  try {
    await program.parseAsync(['import', ...args], { from: 'user' });
    code = Number(process.exitCode ?? 0);
  } catch (error) {
    if (error instanceof CommanderError) {
      code = error.code === 'commander.helpDisplayed' ? 0 : 2;
    } else if (error instanceof UserFacingError) {
      stderr += `bluelight: ${error.message}\n`;
      code = error.exitCode;
    } else {
      throw error;
    }
  } finally {
    process.exitCode = undefined;
    out.mockRestore();
    err.mockRestore();
  }
  return { code, stdout, stderr };
}

describe('bluelight import', () => {
  const rows = readCsvText(SAMPLES.sffd);

  it('imports a sample to an NDJSON file with exit code 0 and a summary', async () => {
    const out = path.join(directory, 'sffd.ndjson');
    const result = await bluelightImport('sffd', SAMPLES.sffd, '--out', out, '--no-progress');
    // Counted from the CSV: incidents, and those with an on-scene time on any unit's row.
    const incidents = new Set(rows.map((row) => row.cells['Incident Number']));
    const attended = new Set(
      rows.filter((row) => row.cells['On Scene DtTm']).map((row) => row.cells['Incident Number']),
    );
    const missing = incidents.size - attended.size;
    expect(missing).toBeGreaterThan(0);
    expect(result.stderr).toBe(
      `warning: ${incidents.size} incidents imported, ${attended.size} with a measurable attendance; ${missing} (${((missing / incidents.size) * 100).toFixed(1)}% of those not cancelled) have no arrival time and count as not measured (bluelight data-quality lists them)\n`,
    );
    expect(result.code).toBe(0);
    const written = (await readFile(out, 'utf8')).trim().split('\n');
    expect(result.stdout).toContain(
      `${rows.length} rows read: ${rows.length} imported, 0 rejected → ${written.length} events to ${out}`,
    );
  }, 30_000);

  it('warns when the real LFB incident file gives no measurable attendance', async () => {
    // The LFB incident records alone carry no mobilised or arrived times (those are in the
    // mobilisation records): every incident imports, none can be measured.
    const file = path.join(REPOSITORY, 'test/data/real/lfb-incidents-2023-sample-10k.csv.gz');
    const plain = path.join(directory, 'lfb-2023.csv');
    await writeFile(plain, gunzipSync(await readFile(file)));
    const incidents = new Set(readCsvText(plain).map((row) => row.cells.IncidentNumber)).size;
    const result = await bluelightImport(
      'lfb',
      file,
      '--out',
      path.join(directory, 'lfb-2023.ndjson'),
      '--no-progress',
    );
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(
      `warning: ${incidents} incidents imported, 0 with a measurable attendance (no mobilised or arrived times) — check the mapping's clock columns (docs/importing.md); no attendance figure can be computed from them\n`,
    );
  }, 120_000);

  it('refuses --wait with a file output (exit 2)', async () => {
    const result = await bluelightImport(
      'sffd',
      SAMPLES.sffd,
      '--out',
      path.join(directory, 'wait.ndjson'),
      '--wait',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--wait waits for the figures in ClickHouse');
  });

  it('exits 5 when rows were rejected, naming them by file and line', async () => {
    const edited = path.join(directory, 'sffd-bad.csv');
    const text = await readFile(SAMPLES.sffd, 'utf8');
    const received = rows[1]?.cells['Received DtTm'] ?? '';
    await writeFile(edited, text.replace(received, '31/12/2016 23:52:01'));
    const errors = path.join(directory, 'errors.ndjson');
    const result = await bluelightImport(
      'sffd',
      edited,
      '--out',
      path.join(directory, 'partial.ndjson'),
      '--errors',
      errors,
    );
    expect(result.code).toBe(5);
    expect(result.stdout).toContain(`${rows.length - 1} imported, 1 rejected`);
    expect(result.stderr).toContain(`1 row rejected; all are in ${errors}:`);
    expect(result.stderr).toContain(
      `${edited}:3  values.received  Received DtTm="31/12/2016 23:52:01": is not a timestamp in format sffd`,
    );
  });

  it('exits 2 on usage errors', async () => {
    const cases = [
      [['nope', SAMPLES.sffd], "value 'nope' is invalid for argument 'format'"],
      [['custom', SAMPLES.sffd], 'format custom needs --mapping FILE'],
      [['lfb', SAMPLES.lfbIncidents, '--mapping', SAMPLES.lfbIncidents], '--mapping goes with'],
      [['sffd', path.join(directory, 'missing.csv')], 'no such file'],
      [
        ['sffd', SAMPLES.sffd, '--out', 'events.txt'],
        '--out must be kafka, gateway or a file ending',
      ],
      [['sffd', SAMPLES.sffd, '--agency', 'SFFD'], '--agency SFFD: must be 2–32 lower-case'],
      [['sffd', SAMPLES.sffd, '--time-zone', 'Pacific'], '--time-zone Pacific: must be an IANA'],
    ] as const;
    for (const [args, message] of cases) {
      const result = await bluelightImport(...args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(message);
    }
  });

  it('exits 1 for a mapping with errors and for a file the mapping does not recognise', async () => {
    const mapping = path.join(directory, 'broken.yaml');
    await writeFile(
      mapping,
      'name: broken\nsource: x-cad\nagency: x-fire\ntime_zone: Mars/Olympus\n',
    );
    const broken = await bluelightImport('custom', SAMPLES.sffd, '--mapping', mapping);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`invalid mapping ${mapping}:`);
    expect(broken.stderr).toContain('line 4: time_zone: must be an IANA time zone');

    const wrongFile = await bluelightImport(
      'lfb',
      SAMPLES.sffd,
      '--out',
      path.join(directory, 'x.ndjson'),
    );
    expect(wrongFile.code).toBe(1);
    expect(wrongFile.stderr).toContain(`${SAMPLES.sffd}: matches no record of mapping lfb`);
  });

  it('documents the exit codes in --help', async () => {
    const result = await bluelightImport('--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: bluelight import [options] <format> <files...>');
    expect(result.stdout).toContain('5 imported, but some rows rejected');
  });
});
