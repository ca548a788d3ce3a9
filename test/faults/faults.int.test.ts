import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { localHome } from '@bluelight/local-stack';
import { canControlEngines, testEndpoints } from '@bluelight/test/harness';
import { describe, expect, it } from 'vitest';
import { printFailure } from './report.js';
import { FAULT_KINDS, type FaultRunResult, runFaultRun, TWO_SINK_FAULT_KINDS } from './runner.js';

async function oneRun(kind: FaultRunResult['kind'], seed: number, sinks: 1 | 2) {
  const suffix = randomBytes(3).toString('hex');
  return runFaultRun({
    kind,
    seed,
    runNumber: 1,
    // t-<run id>-… : the harness removes it if this test run is interrupted.
    stackName: `t-${testEndpoints().runId}-faults-${suffix}`,
    logDir: path.join(localHome(), 'faults', `test-${suffix}`),
    simulatedDays: 1,
    loadSeconds: 10,
    sinks,
  });
}

function expectPassed(result: FaultRunResult) {
  const lines: string[] = [];
  printFailure(result, (line) => lines.push(line));
  expect(result.error, lines.join('\n')).toBeUndefined();
  // The fault happened while events were streaming, and every check ran and passed.
  expect(result.fault.atMs).not.toBeNull();
  expect(result.checks.map((check) => check.name)).toEqual([
    'caught-up',
    'raw-exactly-once',
    'no-dead-letters',
    'derived-facts',
    'figures',
    'services-stayed-up',
  ]);
  expect(
    result.checks.filter((check) => !check.passed),
    lines.join('\n'),
  ).toEqual([]);
  expect(result.produced.distinct).toBeGreaterThan(1_000);
  expect(result.stored).toEqual({
    distinct: result.produced.distinct,
    finalRows: result.produced.distinct,
    physicalRows: expect.any(Number),
  });
  expect(result.passed).toBe(true);
}

/**
 * One fault-injection run of a random kind, shorter than `npm run faults` makes them, through
 * the same code: CI keeps the runner working, and each CI run tries another fault.
 */
describe.skipIf(!canControlEngines())('fault injection (one run of npm run faults)', () => {
  const kind = FAULT_KINDS[Math.floor(Math.random() * FAULT_KINDS.length)] ?? 'sink-kill';
  const seed = Math.floor(Math.random() * 1_000_000);

  it(`loses and doubles nothing under ${kind} (seed ${seed})`, { timeout: 300_000 }, async () => {
    expectPassed(await oneRun(kind, seed, 1));
  });

  // Two sinks in one consumer group: the fault moves partitions between them mid-stream.
  const twoSinkKind =
    TWO_SINK_FAULT_KINDS[Math.floor(Math.random() * TWO_SINK_FAULT_KINDS.length)] ?? 'sink-restart';
  it(`two sinks in one group lose and double nothing under ${twoSinkKind} (seed ${seed + 1})`, {
    timeout: 300_000,
  }, async () => {
    expectPassed(await oneRun(twoSinkKind, seed + 1, 2));
  });
});
