import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migratedDatabase, testEndpoints } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/bluelight.mjs');
let db: Awaited<ReturnType<typeof migratedDatabase>>;
let out: string;

function bluelight(args: string[], env: Record<string, string> = {}) {
  const endpoints = testEndpoints();
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      {
        env: {
          ...process.env,
          CLICKHOUSE_URL: endpoints.clickhouseUrl,
          CLICKHOUSE_USER: endpoints.clickhouseUser,
          CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
          CLICKHOUSE_DATABASE: db.database,
          ...env,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? ((error as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  db = await migratedDatabase('cli_previews');
  out = mkdtempSync(path.join(tmpdir(), 'bluelight-previews-'));
});
afterAll(async () => {
  await db?.drop();
  rmSync(out, { recursive: true, force: true });
});

describe('bluelight dashboards preview', () => {
  it('writes one page per dashboard, with a progress line each, exit 0 (an empty database too)', async () => {
    const run = await bluelight([
      'dashboards',
      'preview',
      '--out',
      out,
      '--to',
      '2024-04-05T12:00:00Z',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const uids = [
      'bluelight-control-room',
      'bluelight-response-standards',
      'bluelight-call-handling',
      'bluelight-availability',
      'bluelight-pipeline',
      'bluelight-appliances-cover',
    ];
    for (const uid of uids) {
      const file = path.join(out, `${uid}.html`);
      expect(existsSync(file), file).toBe(true);
      // Self-contained: nothing fetched from anywhere.
      expect(readFileSync(file, 'utf8')).not.toMatch(/<(script|link|img)[^>]+(src|href)=/);
    }
    expect(run.stdout.trim().split('\n')).toHaveLength(uids.length + 1);
    expect(run.stdout).toContain('Control room: 8 panels');
  });

  it('refuses a bad instant (exit 2) and names an unreachable ClickHouse (exit 1)', async () => {
    const bad = await bluelight(['dashboards', 'preview', '--out', out, '--to', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--to: not an instant: soon');
    const down = await bluelight(['dashboards', 'preview', '--out', out], {
      CLICKHOUSE_URL: 'http://127.0.0.1:9',
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot read ClickHouse at http://127.0.0.1:9');
  });
});
