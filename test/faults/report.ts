import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '@bluelight/local-stack';
import {
  FAULT_KINDS,
  type FaultKind,
  type FaultRunResult,
  TWO_SINK_FAULT_KINDS,
} from './runner.js';

export interface Machine {
  cores: number;
  cpu: string;
  memoryGb: number;
  node: string;
  java: string;
  os: string;
}

export interface FaultReport {
  startedAt: string;
  finishedAt: string;
  seed: number;
  kinds: string[];
  /** Sink processes in the consumer groups (absent in series from before: 1). */
  sinks?: number;
  machine: Machine;
  results: FaultRunResult[];
}

/**
 * Formats the files the runner writes (results, this page) as `npm run lint` expects them, so
 * they can be committed as they are. Best effort: without Biome they stay as written.
 */
export async function formatWithBiome(files: string[]): Promise<void> {
  const biome = path.join(repoRoot, 'node_modules', '.bin', 'biome');
  try {
    await promisify(execFile)(biome, ['format', '--write', ...files], { cwd: repoRoot });
  } catch (error) {
    console.log(`(could not format ${files.join(', ')} with Biome: ${(error as Error).message})`);
  }
}

export async function machineInfo(): Promise<Machine> {
  let java = 'unknown';
  try {
    const { stderr } = await promisify(execFile)('java', ['-version']);
    java = /version "([^"]+)"/.exec(stderr)?.[1] ?? stderr.split('\n')[0] ?? 'unknown';
  } catch {
    // no java: the stack could not start anyway
  }
  return {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.versions.node,
    java,
    os: `${os.type()} ${os.release()}`,
  };
}

const seconds = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`;

/** One line per run: its fault, timing, events produced and stored, result. */
export function runLine(result: FaultRunResult, of: number): string {
  const verdict = result.passed ? 'PASS' : result.error ? 'ERROR' : 'FAIL';
  const stored = result.stored
    ? `${result.stored.distinct} distinct / ${result.stored.finalRows} rows FINAL`
    : '–';
  return [
    `run ${String(result.run).padStart(String(of).length)}/${of}`,
    result.kind.padEnd(18),
    ...((result.sinks ?? 1) > 1 ? [`${result.sinks} sinks`] : []),
    `via ${result.transport.padEnd(7)}`,
    `fault at ${seconds(result.fault.atMs)}: ${result.fault.description}`,
    `produced ${result.produced.distinct} distinct (${result.produced.events} sent by the feed, ${result.load.sent} on the wire)`,
    `stored ${stored}`,
    `caught up ${seconds(result.timings.catchUpMs)} after the load, run ${seconds(result.timings.totalMs)}`,
    verdict,
  ].join(' | ');
}

/** What differed, for a failed run: the checks' problems and the event ids missing or doubled. */
export function printFailure(result: FaultRunResult, say: (line: string) => void): void {
  if (result.error)
    say(`    the run broke: ${result.error.split('\n').slice(0, 6).join('\n      ')}`);
  for (const check of result.checks) {
    if (check.passed) continue;
    say(`    check ${check.name} failed:`);
    for (const problem of check.problems) say(`      - ${problem}`);
  }
  for (const [family, ids] of Object.entries(result.ids ?? {})) {
    if (ids.missing.length > 0) say(`    ${family}: missing event ids ${ids.missing.join(', ')}`);
    if (ids.doubled.length > 0) say(`    ${family}: doubled event ids ${ids.doubled.join(', ')}`);
    if (ids.unexpected.length > 0)
      say(`    ${family}: unexpected event ids ${ids.unexpected.join(', ')}`);
  }
  for (const entry of result.missingOnKafka ?? []) {
    say(
      `    ${entry.family}: ${entry.foundOnKafka} of the ${entry.missing} missing events are on Kafka; per partition (offsets of missing events | committed | end): ${Object.entries(
        entry.partitions,
      )
        .map(
          ([partition, info]) => `p${partition} ${info.offsets} | ${info.committed} | ${info.end}`,
        )
        .join('; ')}`,
    );
  }
  if (result.onKafka) say(`    messages on Kafka per family: ${JSON.stringify(result.onKafka)}`);
  if (result.logDir) say(`    logs kept in ${result.logDir}`);
}

const FAULT_DESCRIPTIONS: Record<FaultKind, string> = {
  'sink-kill':
    'The sink child process (with two sinks: one of them, at random) is killed with SIGKILL (no shutdown hook runs; batches in hand are neither finished nor committed), stays down 0.5–8 s, and is started again. Its consumer groups rebalance — with two sinks, once the killed member’s session expires, the other takes its partitions — and the uncommitted batches are delivered again.',
  'sink-restart':
    'Two-sink series: one of the two sinks, at random, is stopped with SIGTERM (it finishes and commits the batches in hand and leaves its consumer groups, so the other sink takes all the partitions at once), stays down 0.5–8 s, and is started again (the groups rebalance once more and split the partitions again).',
  'gateway-kill':
    'The ingest gateway child process is killed with SIGKILL while the producer is posting to it; requests in flight get no answer (some may already be on Kafka). It stays down 0.5–8 s and restarts with an empty duplicate window. The producer resends every request that did not get a 200 — the same events — after connection errors and 503s.',
  'broker-stop':
    'On a three-broker cluster (replication factor 3, min.insync.replicas 2), one broker chosen at random is stopped — SIGKILL or a graceful (controlled) shutdown, chosen at random — for 3–10 s, then started again; the runner waits until all three are registered. Producers (gateway or event-output) and the sink keep going against the other two.',
  'clickhouse-restart':
    'The ClickHouse engine (the chDB server process of the local stack) is stopped — SIGKILL or SIGTERM, at random — while the sink is writing, stays down 0.5–8 s, and is started again on its data. Inserts and fact refreshes in flight fail or end with an unknown status; the sink pauses and retries them.',
  none: 'No fault (a control run): the same load and checks.',
};

const FINDINGS_START = '<!-- findings: kept by the runner -->';
const FINDINGS_END = '<!-- end of findings -->';

const CHECKS: [string, string][] = [
  [
    'caught-up',
    'The sink’s consumer groups committed every partition of the three event topics to its end offset within 240 s of the end of the load. The other checks run after it, so they see everything Kafka holds; proves the sink does not stall after the fault.',
  ],
  [
    'raw-exactly-once',
    'For each of `calls_raw`, `incidents_raw`, `resources_raw`: `uniqExact(event_id)` and `count() FINAL` both equal the number of distinct events produced, and the set of stored event ids is exactly the set produced (listing any missing, doubled after FINAL, or never produced). Proves no event was lost and none counts twice, whatever Kafka redelivered.',
  ],
  [
    'no-dead-letters',
    '`dead_letters` is empty and the dead-letter topics hold no message. Proves a fault never made the sink refuse a valid event (an infrastructure error must be retried, never dead-lettered).',
  ],
  [
    'derived-facts',
    'Every incident, call and status interval recomputed in the runner, in plain TypeScript, from the produced events (each event once, corrected events replaced): per incident the call-received time, creation, first and second arrival (after corrections) and the first resource to arrive, close time, category, service and cancellation; per call presented, answered, abandoned, closed, line and outcome; per resource every interval (start, end, on the run or not). The facts as every figure reads them (the sources in `infra/clickhouse-schema/src/facts.ts`: the views’ aggregates, the sink’s recomputed revisions, the availability intervals formed from `resource_changes`) must equal them entity by entity, with no fact missing or extra. Proves the derived facts stayed right through redelivered, retried and interrupted batches — an event lost, a correction missed or a duplicate counted would change a time, a flag or the set of entities.',
  ],
  [
    'figures',
    'The published figures — fire incidents, primary and secondary fires, falls responses, attendance standard met, mean primary-fire attendance, 999 answered within 10 s and mean wait, 101 resolved at triage and mean triage time, whole-time and on-call availability — read from the facts by `storedFigures` (`test/harness`), as the pipeline e2e test reads them, equal `FigureCounter` (`@bluelight/simulator/testing`) over the same events (counts exactly, shares to 1e-9, means to 1e-6). Proves what users see is unaffected by the fault.',
  ],
  [
    'services-stayed-up',
    'Neither the sink(s) nor the gateway exited by themselves (only by the runner’s SIGKILL or SIGTERM). Proves the services ride out the fault rather than crash (a crash is restarted, as a supervisor would, so the other checks still run, but it is reported).',
  ],
];

function table(rows: string[][]): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const [head, ...body] = rows;
  return [
    line(head ?? []),
    `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`,
    ...body.map(line),
  ].join('\n');
}

/** One series' measured results: the summary per fault, every run, the failures. */
function seriesSection(report: FaultReport, resultsFile: string): string {
  const { machine, results } = report;
  const kinds = [...new Set([...FAULT_KINDS, ...TWO_SINK_FAULT_KINDS, 'none' as const])].filter(
    (kind) => results.some((result) => result.kind === kind),
  );
  const summary = [
    [
      'fault',
      'runs',
      'passed',
      'failed',
      'via gateway / Kafka',
      'median run',
      'median catch-up after load',
    ],
    ...kinds.map((kind) => {
      const own = results.filter((result) => result.kind === kind);
      const median = (values: number[]) => {
        const sorted = [...values].sort((a, b) => a - b);
        return sorted.length === 0 ? null : (sorted[Math.floor(sorted.length / 2)] as number);
      };
      return [
        `\`${kind}\``,
        String(own.length),
        String(own.filter((result) => result.passed).length),
        String(own.filter((result) => !result.passed).length),
        `${own.filter((result) => result.transport === 'gateway').length} / ${own.filter((result) => result.transport === 'kafka').length}`,
        seconds(median(own.map((result) => result.timings.totalMs))),
        seconds(
          median(
            own.flatMap((result) =>
              result.timings.catchUpMs === null ? [] : [result.timings.catchUpMs],
            ),
          ),
        ),
      ];
    }),
    [
      '**all**',
      String(results.length),
      String(results.filter((result) => result.passed).length),
      String(results.filter((result) => !result.passed).length),
      `${results.filter((result) => result.transport === 'gateway').length} / ${results.filter((result) => result.transport === 'kafka').length}`,
      '',
      '',
    ],
  ];
  const perRun = [
    [
      'run',
      'fault',
      'sinks',
      'via',
      'fault at',
      'what happened',
      'distinct produced',
      'on Kafka',
      'stored (distinct / FINAL / physical)',
      'resends',
      'result',
    ],
    ...results.map((result) => [
      String(result.run),
      result.kind,
      String(result.sinks ?? 1),
      result.transport,
      seconds(result.fault.atMs),
      result.fault.description,
      String(result.produced.distinct),
      result.onKafka ? String(Object.values(result.onKafka).reduce((sum, n) => sum + n, 0)) : '–',
      result.stored
        ? `${result.stored.distinct} / ${result.stored.finalRows} / ${result.stored.physicalRows}`
        : '–',
      String(result.load.resends),
      result.passed ? 'pass' : result.error ? 'error' : 'FAIL',
    ]),
  ];
  const failures = results.filter((result) => !result.passed);
  const failureText =
    failures.length === 0
      ? 'None: in every run each distinct event was stored exactly once, nothing was dead-lettered, and every fact and figure equalled the recomputation.'
      : failures
          .map((result) => {
            const problems = [
              ...(result.error ? [`the run broke: ${result.error.split('\n')[0]}`] : []),
              ...result.checks
                .filter((check) => !check.passed)
                .flatMap((check) => check.problems.map((problem) => `${check.name}: ${problem}`)),
            ];
            for (const entry of result.missingOnKafka ?? []) {
              problems.push(
                `evidence: ${entry.foundOnKafka} of the ${entry.missing} missing ${entry.family} events are on Kafka at all (the sink committed every partition to its end offset)`,
              );
            }
            return `- run ${result.run} (\`${result.kind}\` via ${result.transport}, seed ${result.seed}, ${result.fault.description}):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`;
          })
          .join('\n');
  const date = report.startedAt.slice(0, 10);
  return `${date}: ${results.length} runs, seed ${report.seed}, ${((Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 60_000).toFixed(0)} minutes
(\`${resultsFile}\`). Machine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGb} GB memory,
${machine.os}, Node ${machine.node}, Java ${machine.java}; Kafka 4.4.0 (KRaft) and the ClickHouse
engine chDB 4.4.0 from the local stack. The machine was shared with other work during the series.

${table(summary)}

Per run. On Kafka: messages on the three event topics at the end (more than the distinct events
when the feed's repeats or resends reached Kafka twice). Stored: distinct event ids / rows after
FINAL / physical rows (more than distinct when the sink wrote redelivered batches again and the
copies are not merged away yet). Resends: requests or writes the producer made again.

${table(perRun)}

#### Failures in this series

${failureText}
`;
}

/** docs/reliability.md: how to run it, what each fault does, what each check proves, the results. */
export function writeReliabilityDoc(series: { report: FaultReport; file: string }[]): string {
  const ordered = [...series].sort((a, b) => (a.report.sinks ?? 1) - (b.report.sinks ?? 1));
  const sections = ordered
    .map(
      ({ report, file: resultsFile }) =>
        `### ${(report.sinks ?? 1) === 2 ? 'Two sinks in one consumer group' : 'One sink'}\n\n${seriesSection(report, resultsFile)}`,
    )
    .join('\n');
  const file = path.join(repoRoot, 'docs', 'reliability.md');
  // The analysis of findings is written by people; the runner keeps it between its markers.
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const kept = new RegExp(`${FINDINGS_START}[\\s\\S]*?${FINDINGS_END}`).exec(previous)?.[0];
  const findings =
    kept ??
    `${FINDINGS_START}\n_No analysis written yet: see the failures below._\n${FINDINGS_END}`;
  const text = `# Reliability: fault-injection runs

\`npm run faults\` proves, by breaking things on purpose, what the pipeline promises: **no event is
lost and none is counted twice** when a service is killed, a broker dies or ClickHouse restarts
in the middle of a stream — and the derived facts and figures come out as if nothing had happened.

This page is written by the runner (\`test/faults/run.ts\`) at the end of each series; the
measured results below are from the last series of each kind (one sink; two sinks in one group).

## Running it

\`\`\`sh
npm run faults                                   # 20 runs, the four fault kinds in turn (shuffled)
npm run faults -- --runs 40 --seed 7             # more runs; the same seed gives the same choices
npm run faults -- --runs 4 --kinds sink-kill,broker-stop
npm run faults -- --runs 1 --kinds none          # a control run without a fault
npm run faults -- --sinks 2                      # two sinks in one consumer group, forced rebalances
\`\`\`

\`--sinks 2\` runs **two sink processes in one consumer group** (the same \`SINK_GROUP_PREFIX\`), so
each family topic's partitions are split between them, and every fault moves partitions while the
load runs: \`sink-restart\` (one sink stopped with SIGTERM and started again: it leaves the groups,
the other takes everything, then they split again), \`sink-kill\` (one SIGKILLed: the other takes its
partitions once its session expires) and \`broker-stop\` (a broker of three stopped or killed: the
group coordinator and partition leaders move). Its default kinds are those three; the checks are
the same. \`test/faults/faults.int.test.ts\` runs one such run (next to a one-sink run) in the integration tier.

Other options: \`--days D\` (simulated days per run, default 2, about 2,900 events a day),
\`--load-seconds S\` (how long the events stream in, default 20), \`--verbose\` (each run's steps),
\`--no-docs\` (leave this page alone), \`--docs-from test/faults/results/<file>.json\` (rewrite this page
from a saved series, running nothing). Runs go one at a time — each starts its own engines, and the
machine has two cores. A run takes 35–80 s (a three-broker stack and the sink's 30 s
rejoin after a kill are the slow parts); 20 runs about 20 minutes.

Each run:

1. simulates a few days of Staffordshire events with \`simulate()\` from \`@bluelight/simulator\`
   (a different seed, and a different window of the profile year, per run; the feed's own
   repeats, late and reordered events and corrections included);
2. starts a fresh private local stack (\`LocalStack\`, as the test harness's \`startPrivateStack\`
   does, on free ports): **three Kafka brokers** (replication factor 3, \`min.insync.replicas\` 2)
   for broker faults, one otherwise, and the ClickHouse engine; a freshly migrated database and
   a unique topic prefix and consumer-group prefix;
3. runs the real **sink** as a child process (\`node --import tsx services/clickhouse-sink/src/main.ts\`,
   small fetches so there are many batches; with \`--sinks 2\` two of them in one consumer group) and, when the load goes through it, the real
   **ingest gateway** (\`services/ingest-gateway/src/main.ts\`, a random API key for the simulator's
   agencies and sources);
4. streams the events in order over 20 s, in requests of 250 — through the gateway
   (\`POST /v1/events\`, resending the same events after a 503 or a lost connection until a 200
   accepts them all) or straight to Kafka with \`@bluelight/event-output\` (resending after a
   failed write); always the gateway for gateway faults, otherwise chosen at random;
5. injects the fault at a random moment between 15% and 65% of the stream;
6. after the load, waits until the sink's consumer groups have committed the topics' end offsets;
7. runs the checks below, stops the services and deletes the stack.

A failed check makes \`npm run faults\` exit 1, prints what differed — the event ids missing or
doubled, the facts that differ — and keeps the run's logs (the sink's, the gateway's, the
runner's timeline and the stack's Kafka and ClickHouse logs) in \`.local/faults/<timestamp>/run-N/\`.
Results go to \`test/faults/results/<timestamp>.json\`: per run its seed, window, transport,
fault and timing, events produced, sent and stored, resends and their reasons, every check.

\`test/faults/faults.int.test.ts\` runs one run of a random kind (a shorter one) through the same
code in the integration tier, so CI keeps the runner working.

## The faults

| fault | what it does |
| ----- | ------------ |
${[...new Set([...FAULT_KINDS, ...TWO_SINK_FAULT_KINDS])].map((kind) => `| \`${kind}\` | ${FAULT_DESCRIPTIONS[kind]} |`).join('\n')}

## The checks, and what each proves

| check | what it proves |
| ----- | -------------- |
${CHECKS.map(([name, text]) => `| \`${name}\` | ${text} |`).join('\n')}

The expected values are never read from the pipeline: they are recomputed from the very events
the runner produced (\`test/faults/expected.ts\`, and \`FigureCounter\`).

## Measured results

The last series of each kind: one sink (\`npm run faults\`) and two sinks in one consumer group
(\`npm run faults -- --sinks 2\`).

${sections}

## Findings

${findings}
`;
  writeFileSync(file, text);
  return file;
}
