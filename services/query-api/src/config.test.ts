import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, sha256Hex } from '@bluelight/service-kit';
import { loadStandards, SHIPPED_STANDARDS_DIR } from '@bluelight/standards';
import { afterAll, describe, expect, it } from 'vitest';
import { configuredReaders, queryApiConfigSchema } from './config.js';

const reader = (id: string) => ({
  id,
  key_sha256: sha256Hex(`key-of-${id}`),
  agencies: ['staffordshire-fire'],
});

function problems(env: Record<string, string>) {
  try {
    loadConfig(queryApiConfigSchema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'query-api-'));
  dirs.push(dir);
  return dir;
}

describe('query API configuration', () => {
  it('has the documented defaults and no readers', () => {
    const config = loadConfig(queryApiConfigSchema, {});
    expect({
      port: config.QUERY_API_PORT,
      maxDays: config.QUERY_API_MAX_PERIOD_DAYS,
      timeout: config.QUERY_API_QUERY_TIMEOUT_MS,
      standardsDir: config.STANDARDS_DIR,
      perSecond: config.QUERY_API_RATE_LIMIT_PER_SECOND,
      burst: config.QUERY_API_RATE_LIMIT_BURST,
    }).toEqual({
      port: 8089,
      maxDays: 3_700,
      timeout: 60_000,
      standardsDir: undefined,
      perSecond: 10,
      burst: 30,
    });
    expect(configuredReaders(config)).toEqual([]);
  });

  it('reads readers from the keys file and the inline variable together', () => {
    const file = path.join(tempDir(), 'keys.json');
    writeFileSync(file, JSON.stringify([reader('dashboards')]));
    const config = loadConfig(queryApiConfigSchema, {
      QUERY_API_KEYS_FILE: file,
      QUERY_API_KEYS: JSON.stringify([reader('analyst')]),
    });
    expect(configuredReaders(config).map((entry) => entry.id)).toEqual(['dashboards', 'analyst']);
  });

  it('names the variable of every bad value', () => {
    expect(problems({ QUERY_API_PORT: '99999' })[0]?.variable).toBe('QUERY_API_PORT');
    for (const [variable, value] of [
      ['QUERY_API_RATE_LIMIT_PER_SECOND', '0'],
      ['QUERY_API_RATE_LIMIT_PER_SECOND', 'fast'],
      ['QUERY_API_RATE_LIMIT_BURST', '-5'],
      ['QUERY_API_RATE_LIMIT_BURST', '2.5'],
    ] as const) {
      expect(problems({ [variable]: value }).map((problem) => problem.variable)).toEqual([
        variable,
      ]);
    }
    expect(problems({ QUERY_API_MAX_PERIOD_DAYS: '0' })[0]?.variable).toBe(
      'QUERY_API_MAX_PERIOD_DAYS',
    );
    expect(
      problems({ QUERY_API_KEYS: '[{"id":"x","key_sha256":"nope","agencies":["a-b"]}]' }),
    ).toEqual([
      {
        variable: 'QUERY_API_KEYS.0.key_sha256',
        message: 'must be the hex SHA-256 of the key (64 hex digits)',
      },
    ]);
    // A reader without agencies (as a key entry was before agency scopes) is refused, named.
    expect(
      problems({ QUERY_API_KEYS: JSON.stringify([{ id: 'x', key_sha256: sha256Hex('k') }]) }),
    ).toEqual([
      {
        variable: 'QUERY_API_KEYS.0.agencies',
        message:
          'required: the agencies this key may read, e.g. ["staffordshire-fire"] (["*"] for every agency)',
      },
    ]);
    const oldFile = path.join(tempDir(), 'old-keys.json');
    writeFileSync(oldFile, JSON.stringify([reader('a'), { id: 'b', key_sha256: sha256Hex('b') }]));
    expect(problems({ QUERY_API_KEYS_FILE: oldFile })).toEqual([
      {
        variable: 'QUERY_API_KEYS_FILE.1.agencies',
        message:
          'required: the agencies this key may read, e.g. ["staffordshire-fire"] (["*"] for every agency)',
      },
    ]);
    expect(
      problems({ QUERY_API_KEYS: JSON.stringify([{ ...reader('x'), agencies: ['*', 'a-b'] }]) }),
    ).toEqual([
      {
        variable: 'QUERY_API_KEYS.0.agencies',
        message: '"*" (every agency) stands alone; list agencies or give ["*"]',
      },
    ]);
    expect(problems({ QUERY_API_KEYS_FILE: '/nonexistent/keys.json' })[0]?.message).toMatch(
      /^cannot read \/nonexistent\/keys.json: ENOENT/,
    );
    expect(problems({ STANDARDS_DIR: '/nonexistent/standards' })).toEqual([
      { variable: 'STANDARDS_DIR', message: 'must be a directory' },
    ]);
    expect(problems({ STANDARDS_USER_DIR: '/nonexistent/standards' })).toEqual([
      { variable: 'STANDARDS_USER_DIR', message: 'must be a directory' },
    ]);
    expect(
      problems({
        QUERY_API_KEYS: JSON.stringify([reader('dashboards')]),
        QUERY_API_KEYS_FILE: (() => {
          const file = path.join(tempDir(), 'keys.json');
          writeFileSync(file, JSON.stringify([reader('dashboards')]));
          return file;
        })(),
      }),
    ).toEqual([
      { variable: 'QUERY_API_KEYS', message: 'reader id "dashboards" appears more than once' },
    ]);
  });
});

const mainFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.ts');

function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', mainFile],
      { env: { ...process.env, ...env }, timeout: 30_000 },
      (error, _stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr });
      },
    );
  });
}

describe('start-up with a bad configuration', { timeout: 60_000 }, () => {
  it('exits 78 naming the variable', async () => {
    const result = await runMain({ QUERY_API_PORT: 'eighty' });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('QUERY_API_PORT');
  });

  it('exits 78 naming STANDARDS_DIR when a standard there is invalid', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'broken.yaml'), 'id: broken\nname: x\n');
    const result = await runMain({ STANDARDS_DIR: dir });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('STANDARDS_DIR');
    expect(result.stderr).toContain('broken.yaml');
  });
});

describe('start-up with a user standards folder (STANDARDS_USER_DIR)', { timeout: 60_000 }, () => {
  it('exits 78 naming STANDARDS_USER_DIR and the file when a user standard is invalid', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'ours.yaml'), 'id: ours\nname: x\n');
    const result = await runMain({ STANDARDS_USER_DIR: dir });
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('STANDARDS_USER_DIR');
    expect(result.stderr).toContain(path.join(dir, 'ours.yaml'));
  });

  it('serves the shipped standards and the user’s, warning of one that replaces a shipped one', async () => {
    const dir = tempDir();
    // A shipped standard under another name (the same id), and one of the user's own.
    const shipped = readFileSync(
      path.join(SHIPPED_STANDARDS_DIR, 'fire-attendance-standard.yaml'),
      'utf8',
    );
    writeFileSync(path.join(dir, 'attendance.yaml'), shipped.replace(/^name: .*$/m, 'name: Ours'));
    copyFileSync(
      path.join(SHIPPED_STANDARDS_DIR, 'nfpa-1710-travel.yaml'),
      path.join(dir, 'travel-copy.yaml'),
    );
    writeFileSync(
      path.join(dir, 'travel-copy.yaml'),
      readFileSync(path.join(dir, 'travel-copy.yaml'), 'utf8').replace(
        /^id: .*$/m,
        'id: our-travel',
      ),
    );
    const lines = await startedLog({ STANDARDS_USER_DIR: dir });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        userDir: dir,
        msg: `standard fire-attendance-standard from ${dir} overrides the shipped one`,
      }),
    );
    const started = lines.find((line) => line.msg === 'query-api started');
    expect(started?.standards).toBe(loadStandards().length + 1);
  });
});

/** The JSON log lines main.ts writes up to "query-api started" (it is then stopped). */
function startedLog(env: Record<string, string>): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', mainFile], {
      // Port 0 is refused by the configuration: a port of its own from the PID, out of the way.
      env: { ...process.env, ...env, QUERY_API_PORT: String(40_000 + (process.pid % 20_000)) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Record<string, unknown>[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.stdout.on('data', (chunk) => {
      buffered += String(chunk);
      const complete = buffered.split('\n');
      buffered = complete.pop() ?? '';
      for (const text of complete) {
        if (!text.trim().startsWith('{')) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        if (line.msg === 'query-api started') {
          child.kill('SIGTERM');
          resolve(lines);
        }
      }
    });
    child.on('exit', (code) =>
      reject(new Error(`main.ts exited ${code} before starting: ${stderr}`)),
    );
  });
}
