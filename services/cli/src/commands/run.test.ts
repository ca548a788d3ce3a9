import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserFacingError } from '../exit-codes.js';
import { runBluelight } from '../testing/run-cli.js';
import { mainJobServices, simulatorWanted } from './run.js';

let home: string;
beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'bluelight-run-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('bluelight run without the simulator (a real deployment)', () => {
  it('runs the simulator unless --no-simulator or BLUELIGHT_SIMULATOR=off; the command line wins', () => {
    expect(simulatorWanted(undefined, {})).toBe(true);
    expect(simulatorWanted(undefined, { BLUELIGHT_SIMULATOR: '' })).toBe(true);
    expect(simulatorWanted(undefined, { BLUELIGHT_SIMULATOR: 'on' })).toBe(true);
    expect(simulatorWanted(undefined, { BLUELIGHT_SIMULATOR: 'off' })).toBe(false);
    expect(simulatorWanted(false, {})).toBe(false);
    expect(simulatorWanted(false, { BLUELIGHT_SIMULATOR: 'on' })).toBe(false);
  });

  it('refuses a BLUELIGHT_SIMULATOR that is neither on nor off, naming it, with exit code 78', () => {
    const refused = (() => {
      try {
        simulatorWanted(false, { BLUELIGHT_SIMULATOR: 'no' });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refused).toBeInstanceOf(UserFacingError);
    expect((refused as UserFacingError).exitCode).toBe(78);
    expect((refused as UserFacingError).message).toContain('BLUELIGHT_SIMULATOR');
  });

  it('starts every service but the simulator when it is off', () => {
    expect(mainJobServices(false)).toEqual(['clickhouse-sink', 'ingest-gateway', 'query-api']);
    expect(mainJobServices(true)).toEqual([
      'clickhouse-sink',
      'ingest-gateway',
      'query-api',
      'simulator',
    ]);
  });

  it('documents the option in --help and stops on a bad variable before starting anything', {
    timeout: 60_000,
  }, async () => {
    // Each starts the CLI as a process (seconds under tsx on a busy machine): both at once.
    const [help, bad] = await Promise.all([
      runBluelight(home, ['run', '--help']),
      runBluelight(home, ['run'], { BLUELIGHT_SIMULATOR: 'maybe' }),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--no-simulator');
    expect(help.stdout).toContain('BLUELIGHT_SIMULATOR=off');
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('BLUELIGHT_SIMULATOR');
    expect(bad.stdout).toBe('');
  });
});
