import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBluelight } from './testing/run-cli.js';

let home: string;

beforeAll(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'bluelight-cli-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

const bluelight = (...args: string[]) => runBluelight(home, args);

// Each case starts the CLI as a process (about a second each under tsx).
describe('bluelight CLI', { timeout: 60_000 }, () => {
  it('prints help for every stack command with exit code 0', async () => {
    const commands = [
      ['stack', 'up'],
      ['stack', 'down'],
      ['stack', 'status'],
      ['stack', 'logs'],
      ['stack', 'env'],
      ['stack', 'prepare'],
      ['stack', 'reset'],
      ['run'],
      ['migrate'],
      ['migrate', 'status'],
      ['migrate', 'down'],
      ['dlq', 'list'],
      ['dlq', 'replay'],
      ['simulate'],
      ['gateway-key'],
      ['query-key'],
      ['import'],
    ];
    const results = await Promise.all(commands.map((command) => bluelight(...command, '--help')));
    results.forEach((result, index) => {
      const command = (commands[index] ?? []).join(' ');
      expect(result.code, command).toBe(0);
      expect(result.stdout, command).toContain(`Usage: bluelight ${command}`);
    });
  });

  it('exits 2 on an unknown command or a bad option value', async () => {
    const unknown = await bluelight('stack', 'explode');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'explode'");
    const badPort = await bluelight('stack', 'up', '--kafka-port', '99999');
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('expected a port number between 1 and 65535');
    const badBrokers = await bluelight('stack', 'up', '--brokers', '2');
    expect(badBrokers.code).toBe(2);
  });

  it('simulates nothing before the earliest event time, and names EARLIEST_EVENT_TIME when it is bad', async () => {
    const file = path.join(home, 'old.ndjson');
    const old = await bluelight(
      'simulate',
      '--from',
      '1995-01-01',
      '--to',
      '1995-01-02',
      '--out',
      file,
    );
    expect(old.code).toBe(2);
    expect(old.stderr).toBe(
      'bluelight: --from: 1995-01-01T00:00:00.000Z is before the earliest event time, 2000-01-01T00:00:00.000Z (EARLIEST_EVENT_TIME): the gateway and the sink would refuse its events\n',
    );
    const bad = await runBluelight(home, ['simulate', '--out', file], {
      EARLIEST_EVENT_TIME: '1900-01-01T00:00:00Z',
    });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('EARLIEST_EVENT_TIME: must not be before 1970-01-01T00:00:00Z');
  });

  it('exits 3 from status when the stack is not running, and prints JSON on request', async () => {
    const result = await bluelight('stack', 'status', '--json', '--name', 'idle');
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toEqual({
      name: 'idle',
      components: [
        expect.objectContaining({ id: 'kafka-1', running: false, endpoint: '127.0.0.1:9092' }),
        expect.objectContaining({
          id: 'clickhouse',
          running: false,
          endpoint: 'http://127.0.0.1:8123',
        }),
      ],
    });
  });

  it('prints the environment for services and tests', async () => {
    const result = await bluelight('stack', 'env');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      'export KAFKA_BROKERS=127.0.0.1:9092\nexport CLICKHOUSE_URL=http://127.0.0.1:8123\n',
    );
  });

  it('refuses to reset without --yes when not run from a terminal', async () => {
    const result = await bluelight('stack', 'reset', '--name', 'idle');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('refusing to delete data without --yes');
  });

  it('makes a query-API read key scoped to agencies and prints its entry with the key’s SHA-256', async () => {
    const result = await bluelight(
      'query-key',
      '--id',
      'performance-team',
      '--agencies',
      'staffordshire-fire, staffordshire-police',
    );
    expect(result.code, result.stderr).toBe(0);
    const key = /: (bqk_[A-Za-z0-9_-]{43})\n/.exec(result.stdout)?.[1];
    expect(key).toBeDefined();
    const entry = JSON.parse(result.stdout.slice(result.stdout.indexOf('{')));
    expect(entry).toEqual({
      id: 'performance-team',
      key_sha256: createHash('sha256')
        .update(key ?? '', 'utf8')
        .digest('hex'),
      agencies: ['staffordshire-fire', 'staffordshire-police'],
    });
    // Every agency only when asked for in so many words.
    const every = await bluelight('query-key', '--id', 'inspectorate', '--agencies', '*');
    expect(every.code).toBe(0);
    expect(JSON.parse(every.stdout.slice(every.stdout.indexOf('{'))).agencies).toEqual(['*']);
  });

  it('refuses a read key without agencies, or with agencies that cannot be, exit 2', async () => {
    const bad = await bluelight(
      'query-key',
      '--id',
      'no spaces',
      '--agencies',
      'staffordshire-fire',
    );
    expect(bad.code).toBe(2);
    const none = await bluelight('query-key', '--id', 'team');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("required option '--agencies <codes>' not specified");
    const mixed = await bluelight(
      'query-key',
      '--id',
      'team',
      '--agencies',
      '*,staffordshire-fire',
    );
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--agencies: "*" (every agency) stands alone');
    const malformed = await bluelight('query-key', '--id', 'team', '--agencies', 'Staffs Fire');
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain(
      '--agencies: must be 2–32 lower-case letters, digits or - (e.g. staffordshire-fire) ("Staffs Fire")',
    );
  });
});
