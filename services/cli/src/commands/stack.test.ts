import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBluelight } from '../testing/run-cli.js';

// `stack logs` only reads files, so a stack folder with written logs needs no engines. (The
// "already running" message of `stack up` is checked in infra/local-stack/src/stack.int.test.ts, on a
// stack that test starts anyway.)
const bin = path.resolve(import.meta.dirname, '../../bin/bluelight.mjs');
let home: string;
let logs: string;

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'bluelight-cli-stack-'));
  logs = path.join(home, 'stacks', 'logged', 'logs');
  await mkdir(logs, { recursive: true });
  await writeFile(path.join(logs, 'kafka-1.log'), 'k1\nk2\nk3\nk4\nk5\n');
  await writeFile(path.join(logs, 'clickhouse.log'), 'c1\nc2\nc3\n');
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const bluelight = (...args: string[]) => runBluelight(home, args);

describe('bluelight stack logs', { timeout: 60_000, concurrent: true }, () => {
  it('prints the last lines of every component, each under its file name', async () => {
    const result = await bluelight('stack', 'logs', '--name', 'logged', '-n', '2');
    expect(result).toEqual({
      code: 0,
      stdout: `==> ${logs}/kafka-1.log <==\nk4\nk5\n\n==> ${logs}/clickhouse.log <==\nc2\nc3\n`,
      stderr: '',
    });
  });

  it('prints one named component without a header', async () => {
    const result = await bluelight('stack', 'logs', 'clickhouse', '--name', 'logged', '-n', '1');
    expect(result).toEqual({ code: 0, stdout: 'c3\n', stderr: '' });
  });

  it('exits 2 naming the components when asked for one the stack lacks', async () => {
    const result = await bluelight('stack', 'logs', 'kafka-2', '--name', 'logged');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no component "kafka-2"; this stack has kafka-1, clickhouse');
  });

  it('says which logs do not exist yet, and fails when none does', async () => {
    await mkdir(path.join(home, 'stacks', 'half', 'logs'), { recursive: true });
    await writeFile(path.join(home, 'stacks', 'half', 'logs', 'clickhouse.log'), 'only\n');
    const half = await bluelight('stack', 'logs', '--name', 'half');
    expect(half.code).toBe(0);
    expect(half.stdout).toContain('only\n');
    expect(half.stderr).toMatch(/^kafka-1 has no log yet \(.*kafka-1\.log\): it was never started/);

    const never = await bluelight('stack', 'logs', '--name', 'never');
    expect(never.code).toBe(1);
    expect(never.stderr).toContain(
      'stack "never" has no logs yet; start it with `bluelight stack up --name never`',
    );
  });

  it('keeps printing lines appended while it follows', async () => {
    const log = path.join(home, 'stacks', 'followed', 'logs', 'clickhouse.log');
    await mkdir(path.dirname(log), { recursive: true });
    await writeFile(log, 'c1\nc2\nc3\n');
    // Its own process group, so the CLI and the tail(1) it runs are stopped together.
    const child = spawn(
      process.execPath,
      [bin, 'stack', 'logs', 'clickhouse', '--name', 'followed', '-n', '1', '-f'],
      { env: { ...process.env, BLUELIGHT_HOME: home }, detached: true },
    );
    let output = '';
    const seen = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${text}" in ${output}`)), 20_000);
        const check = () => {
          if (!output.includes(text)) return;
          clearTimeout(timer);
          child.stdout.off('data', check);
          resolve();
        };
        child.stdout.on('data', check);
        check();
      });
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      await seen('c3\n');
      await appendFile(log, 'c4 appended\n');
      await seen('c4 appended\n');
      expect(output).toBe('c3\nc4 appended\n');
    } finally {
      process.kill(-(child.pid as number), 'SIGTERM');
    }
  });
});
