/**
 * `npm run bench [-- --suite gateway|sink|latency|queries|all]`: Bluelight's benchmarks on the
 * real local engines. Each suite writes its results to test/bench/results/<time>-<suite>.json;
 * docs/benchmarks.md is then rewritten from the newest result of every suite.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { KAFKA_VERSION } from '@bluelight/local-stack';
import { benchDir, benchStack, clickhouse, repoRoot, say } from './context.js';
import { databaseExists, describeDataset, regionDataset } from './suites/dataset.js';
import { gatewaySuite } from './suites/gateway.js';
import { historySuite } from './suites/history.js';
import { latencySuite } from './suites/latency.js';
import { queriesSuite } from './suites/queries.js';
import { sinkSuite } from './suites/sink.js';
import { benchmarksMarkdown } from './summary.js';

const SUITES = ['gateway', 'sink', 'latency', 'queries', 'history'] as const;
type Suite = (typeof SUITES)[number];

const { values } = parseArgs({
  options: {
    suite: { type: 'string', default: 'all' },
    'gateway-events': { type: 'string', default: '200000' },
    trials: { type: 'string', default: '3' },
    'sink-trials': { type: 'string', default: '1' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '60' },
    counties: { type: 'string', default: '10' },
    years: { type: 'string', default: '10' },
    runs: { type: 'string', default: '20' },
    'base-db': { type: 'string' },
    'region-db': { type: 'string' },
    'resume-region-db': { type: 'string' },
    histories: { type: 'string', default: '1,10' },
    'history-trials': { type: 'string', default: '2' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(`npm run bench -- [--suite ${SUITES.join('|')}|all|docs] [options]
  --gateway-events N   events per gateway trial (200000)      --trials N     gateway trials (3)
  --sink-trials N      sink/peer trials over a year (1)       --rate N       live events/s (200)
  --seconds N          live load duration (60)                 --runs N       runs per query (20)
  --counties N --years N   the query dataset's size (10 × 10 county-years)
  --base-db NAME       a database holding one county-year from the pipeline (else the sink suite's)
  --region-db NAME     reuse a region dataset built by an earlier run
  --resume-region-db NAME  finish a region dataset whose copies an interrupted run made
  --histories A,B      history suite: years of stored history to compare (1,10)
  --history-trials N   history suite: trials per history size (2)
Results: test/bench/results/*.json; summary: docs/benchmarks.md.
`);
  process.exit(0);
}
const chosen: Suite[] =
  values.suite === 'docs'
    ? []
    : values.suite === 'all'
      ? [...SUITES]
      : (values.suite ?? '').split(',').map((name) => {
          if (!(SUITES as readonly string[]).includes(name)) {
            process.stderr.write(`bench: unknown suite ${name}; use ${SUITES.join(', ')} or all\n`);
            process.exit(2);
          }
          return name as Suite;
        });

const resultsDir = path.join(benchDir, 'results');
mkdirSync(resultsDir, { recursive: true });

function javaVersion(): string {
  // java -version prints to stderr.
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  return (result.stderr || result.stdout || 'unknown').split('\n')[0]?.trim() ?? 'unknown';
}

/** The newest stored result of a suite, if any. */
function newestResult(suite: Suite): Record<string, unknown> | undefined {
  const files = readdirSync(resultsDir)
    .filter((name) => name.endsWith(`-${suite}.json`))
    .sort();
  const newest = files.at(-1);
  return newest ? JSON.parse(readFileSync(path.join(resultsDir, newest), 'utf8')) : undefined;
}

/** The database of the newest sink run's first trial (a county-year to build on), if any. */
function newestSinkDatabase(): string | undefined {
  const sink = newestResult('sink') as
    | { trials?: { bluelight: { database: string } }[] }
    | undefined;
  return sink?.trials?.[0]?.bluelight.database;
}

function writeDocs() {
  const newest = Object.fromEntries(SUITES.map((suite) => [suite, newestResult(suite)]));
  const docs = path.join(repoRoot, 'docs', 'benchmarks.md');
  const analysisFile = path.join(benchDir, 'analysis.md');
  const analysis = existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8') : '';
  writeFileSync(docs, benchmarksMarkdown(newest, analysis));
  // Formatted as the lint step expects (tables aligned).
  spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'biome'), ['format', '--write', docs], {
    stdio: 'ignore',
  });
  say(`wrote docs/benchmarks.md${existsSync(docs) ? '' : ' (new)'}`);
}

if (values.suite === 'docs') {
  // Only rewrite docs/benchmarks.md from the stored results (e.g. after editing analysis.md).
  writeDocs();
  process.exit(0);
}

const stack = await benchStack();
const versionClient = clickhouse(stack);
const clickhouseVersion = await (
  await versionClient.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })
).json<{ v: string }>();
await versionClient.close();
const machine = {
  date: new Date().toISOString(),
  cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown'}`,
  memoryGiB: Math.round(os.totalmem() / 2 ** 30),
  os: `${os.type()} ${os.release()}`,
  node: process.version,
  java: javaVersion(),
  kafka: KAFKA_VERSION,
  clickhouse: `chDB (ClickHouse ${clickhouseVersion[0]?.v ?? '?'}) behind the local HTTP server`,
};
say(`machine: ${JSON.stringify(machine)}`);

function save(suite: Suite, result: object) {
  const file = path.join(resultsDir, `${machine.date.replace(/[:.]/g, '-')}-${suite}.json`);
  writeFileSync(file, `${JSON.stringify({ machine, ...result }, null, 2)}\n`);
  say(`wrote ${path.relative(repoRoot, file)}`);
}

let baseDatabase = values['base-db'];
for (const suite of chosen) {
  say(`suite ${suite}`);
  if (suite === 'gateway') {
    save(
      suite,
      await gatewaySuite(stack, {
        events: Number(values['gateway-events']),
        concurrency: 8,
        trials: Number(values.trials),
      }),
    );
  } else if (suite === 'sink') {
    const result = await sinkSuite(stack, { trials: Number(values['sink-trials']) });
    baseDatabase = result.trials[0]?.bluelight.database;
    save(suite, result);
  } else if (suite === 'history') {
    baseDatabase ??= newestSinkDatabase();
    if (!baseDatabase || !(await databaseExists(stack, baseDatabase))) {
      throw new Error(
        'the history suite needs a county-year from the pipeline: run the sink suite or give --base-db',
      );
    }
    save(
      suite,
      await historySuite(stack, {
        baseDatabase,
        histories: (values.histories as string).split(',').map(Number),
        trials: Number(values['history-trials']),
      }),
    );
  } else if (suite === 'latency') {
    save(
      suite,
      await latencySuite(stack, { rate: Number(values.rate), seconds: Number(values.seconds) }),
    );
  } else {
    const previous = newestResult('queries') as { dataset?: { database: string } } | undefined;
    const reuse = values['region-db'] ?? previous?.dataset?.database;
    const counties = Number(values.counties);
    const years = Number(values.years);
    let dataset: Awaited<ReturnType<typeof regionDataset>> | undefined;
    if (reuse && (await databaseExists(stack, reuse))) {
      dataset =
        previous?.dataset?.database === reuse
          ? (previous.dataset as Awaited<ReturnType<typeof regionDataset>>)
          : await describeDataset(stack, reuse, { counties, years });
      say(`reusing the region dataset ${reuse}`);
    } else {
      baseDatabase ??= newestSinkDatabase();
      if (!baseDatabase || !(await databaseExists(stack, baseDatabase))) {
        say('no county-year from the pipeline to build on: running the sink suite first');
        const sink = await sinkSuite(stack, { trials: 1 });
        save('sink', sink);
        baseDatabase = sink.trials[0]?.bluelight.database as string;
      }
      dataset = await regionDataset(stack, baseDatabase, {
        counties,
        years,
        resume: values['resume-region-db'],
      });
    }
    save(suite, await queriesSuite(stack, dataset, { runs: Number(values.runs) }));
  }
}

writeDocs();
say('the bench stack keeps running for the next run: npx bluelight stack down --name bench');
