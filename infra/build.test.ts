import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The production images run `node services/<name>/dist/main.js`: these build two of the entries
// and run the compiled files with plain node (no tsx), as an image does.
const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');
const node = process.execPath;

async function exitOf(args: string[], env: NodeJS.ProcessEnv = {}) {
  try {
    const { stdout, stderr } = await run(node, args, {
      cwd: root,
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('npm run build', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'bluelight-build-'));
    const built = await run(node, ['infra/build.mjs', 'ingest-gateway', 'cli'], { cwd: root });
    expect(built.stdout).toMatch(
      /built services\/ingest-gateway\/dist\/main\.js, services\/cli\/dist\/main\.js/,
    );
  }, 60_000);
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it('gives a gateway whose compiled entry loads its modules and checks its configuration', async () => {
    // A bad port stops it at start-up, after every module loaded, with the config exit code.
    const result = await exitOf(['services/ingest-gateway/dist/main.js'], { GATEWAY_PORT: 'x' });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('GATEWAY_PORT');
  });

  it('gives a CLI that imports a CAD export exactly as the TypeScript source does', async () => {
    // The importer reads its mappings beside its source (import.meta.url): the bundle must too.
    const sample = 'test/data/sffd-calls-for-service.sample.csv';
    const compiled = path.join(scratch, 'compiled.ndjson');
    const source = path.join(scratch, 'source.ndjson');
    const args = ['import', 'sffd', sample, '--no-progress', '--out'];
    const fromDist = await exitOf(['services/cli/dist/main.js', ...args, compiled]);
    const fromSource = await exitOf(['services/cli/bin/bluelight.mjs', ...args, source]);
    expect(fromDist.code, fromDist.stderr).toBe(0);
    expect(fromSource.code, fromSource.stderr).toBe(0);
    const events = await readFile(compiled, 'utf8');
    expect(events.split('\n').filter(Boolean).length).toBeGreaterThan(0);
    expect(events).toBe(await readFile(source, 'utf8'));
  }, 60_000);
});
