/**
 * `npm run faults -- --runs N --seed S --kinds a,b`: randomized fault-injection runs, one at a
 * time, each on a fresh private stack, proving that no event is lost or doubled. Writes
 * test/faults/results/<timestamp>.json and docs/reliability.md; exits 1 if any run failed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { localHome, repoRoot } from '@bluelight/local-stack';
import {
  type FaultReport,
  formatWithBiome,
  machineInfo,
  printFailure,
  runLine,
  writeReliabilityDoc,
} from './report.js';
import {
  FAULT_KINDS,
  type FaultKind,
  type FaultRunResult,
  runFaultRun,
  seededRandom,
  stopEverything,
  TWO_SINK_FAULT_KINDS,
} from './runner.js';
import { faultStackName, removeLeftoverFaultStacks } from './stack.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    seed: { type: 'string' },
    kinds: { type: 'string' },
    /** 2: two sink processes in one consumer group (the two-sink series). */
    sinks: { type: 'string', default: '1' },
    days: { type: 'string', default: '2' },
    'load-seconds': { type: 'string', default: '20' },
    'no-docs': { type: 'boolean', default: false },
    /** Rewrites docs/reliability.md from a saved results file, running nothing. */
    'docs-from': { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});

const resultsDir = path.join(repoRoot, 'test', 'faults', 'results');

/** The newest saved series with this many sinks (the page shows the last of each). */
function newestSeries(
  sinks: number,
  except?: string,
): { report: FaultReport; file: string } | undefined {
  if (!existsSync(resultsDir)) return undefined;
  const files = readdirSync(resultsDir)
    .filter((name) => /^\d{4}-.*\.json$/.test(name))
    .sort()
    .reverse();
  for (const name of files) {
    const file = path.join(resultsDir, name);
    if (except && path.resolve(except) === file) continue;
    const report = JSON.parse(readFileSync(file, 'utf8')) as FaultReport;
    if ((report.sinks ?? 1) === sinks) return { report, file: path.relative(repoRoot, file) };
  }
  return undefined;
}

/** Both series on the page: the one just run (or given) and the newest of the other kind. */
function seriesForDoc(current: { report: FaultReport; file: string }) {
  const other = newestSeries((current.report.sinks ?? 1) === 2 ? 1 : 2, current.file);
  return other ? [current, other] : [current];
}

if (values['docs-from']) {
  const file = path.resolve(values['docs-from']);
  const saved = JSON.parse(readFileSync(file, 'utf8')) as FaultReport;
  const doc = writeReliabilityDoc(
    seriesForDoc({ report: saved, file: path.relative(repoRoot, file) }),
  );
  await formatWithBiome([doc]);
  console.log(`wrote ${path.relative(repoRoot, doc)}`);
  process.exit(0);
}

const runs = Number(values.runs);
const seed =
  values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(values.seed);
const sinks = Number(values.sinks);
const kinds = (values.kinds ?? (sinks === 2 ? TWO_SINK_FAULT_KINDS : FAULT_KINDS).join(','))
  .split(',')
  .map((kind) => kind.trim())
  .filter(Boolean);
const known: string[] = [...new Set([...FAULT_KINDS, ...TWO_SINK_FAULT_KINDS, 'none'])];
const unknown = kinds.filter((kind) => !known.includes(kind));
if (
  !Number.isInteger(runs) ||
  runs < 1 ||
  !Number.isInteger(seed) ||
  (sinks !== 1 && sinks !== 2) ||
  kinds.length === 0 ||
  unknown.length > 0
) {
  console.error(
    `usage: npm run faults -- [--runs N] [--seed S] [--kinds ${known.join(',')}] [--sinks 1|2] [--days D] [--load-seconds S] [--verbose] [--no-docs]\n       npm run faults -- --docs-from test/faults/results/<file>.json` +
      (unknown.length > 0 ? `\nunknown kind(s): ${unknown.join(', ')}` : ''),
  );
  process.exit(2);
}

const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const logRoot = path.join(localHome(), 'faults', stamp);
const say = (line: string) => console.log(line);

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.log(`\n${signal}: stopping the run's services and stack…`);
    void stopEverything().finally(() => process.exit(130));
  });
}

await removeLeftoverFaultStacks(say);
const machine = await machineInfo();
say(
  `fault injection: ${runs} run(s), seed ${seed}, kinds ${kinds.join(',')}, ${sinks} sink(s); ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, Java ${machine.java}`,
);
const chooser = seededRandom(seed);
// Each kind equally often (shuffled), so every kind is covered even in a short series.
const order: FaultKind[] = [];
while (order.length < runs) {
  const round = [...kinds] as FaultKind[];
  for (let index = round.length - 1; index > 0; index -= 1) {
    const other = Math.floor(chooser() * (index + 1));
    [round[index], round[other]] = [round[other] as FaultKind, round[index] as FaultKind];
  }
  order.push(...round);
}

const results: FaultRunResult[] = [];
for (let index = 0; index < runs; index += 1) {
  const runNumber = index + 1;
  const runSeed = seed + runNumber;
  const result = await runFaultRun({
    kind: order[index] as FaultKind,
    seed: runSeed,
    runNumber,
    stackName: faultStackName(runNumber),
    logDir: path.join(logRoot, `run-${runNumber}`),
    simulatedDays: Number(values.days),
    loadSeconds: Number(values['load-seconds']),
    sinks: sinks as 1 | 2,
    ...(values.verbose ? { say: (line: string) => say(`    ${line}`) } : {}),
  });
  results.push(result);
  say(runLine(result, runs));
  if (!result.passed) printFailure(result, say);
  if (interrupted) break;
}

const finishedAt = new Date();
const report = {
  startedAt: startedAt.toISOString(),
  finishedAt: finishedAt.toISOString(),
  seed,
  kinds,
  sinks,
  machine,
  results,
};
mkdirSync(resultsDir, { recursive: true });
const resultsFile = path.join(resultsDir, `${stamp}.json`);
writeFileSync(resultsFile, `${JSON.stringify(report, null, 2)}\n`);
const failed = results.filter((result) => !result.passed);
say(
  `\n${results.length - failed.length} of ${results.length} runs passed in ${((finishedAt.getTime() - startedAt.getTime()) / 60_000).toFixed(1)} min; results in ${path.relative(repoRoot, resultsFile)}`,
);
const written = [resultsFile];
if (!values['no-docs']) {
  const doc = writeReliabilityDoc(
    seriesForDoc({ report, file: path.relative(repoRoot, resultsFile) }),
  );
  written.push(doc);
  say(`wrote ${path.relative(repoRoot, doc)}`);
}
await formatWithBiome(written);
// Passed runs delete their logs; keep the series' folder only when a failed run left some.
if (existsSync(logRoot) && readdirSync(logRoot).length === 0) rmSync(logRoot, { recursive: true });
if (failed.length > 0) {
  say(
    `FAILED runs: ${failed.map((result) => `${result.run} (${result.kind}, logs ${result.logDir})`).join('; ')}`,
  );
}
process.exit(failed.length > 0 ? 1 : 0);
