#!/usr/bin/env node
// The README's two commands land here (`npm start` → run, `npm test` → test). It uses only Node's
// standard library because it runs before node_modules exists: it installs what is missing, with
// visible progress, then hands over to the real work. Safe to run any number of times.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const localHome = path.resolve(process.env.BLUELIGHT_HOME ?? path.join(root, '.local'));
const resultsDir = path.join(localHome, 'test-results');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

function heading(text) {
  process.stdout.write(`\n=== ${text} ===\n`);
}

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    console.error(`bluelight needs Node.js 20.19 or newer; this is ${process.versions.node}.`);
    process.exit(1);
  }
}

/** Runs a command with inherited output; resolves with its exit code. Signals reach it too. */
function run(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, stdio: 'inherit', ...options });
    const forward = (signal) => child.kill(signal);
    process.on('SIGTERM', forward);
    process.on('SIGINT', forward);
    child.on('error', (error) => {
      console.error(`could not run ${command}: ${error.message}`);
      resolve(127);
    });
    child.on('close', (code, signal) => {
      process.off('SIGTERM', forward);
      process.off('SIGINT', forward);
      resolve(code ?? (signal ? 128 + 15 : 1));
    });
  });
}

/** `npm install` when node_modules is missing or was installed from another package-lock.json. */
async function ensureNodeModules() {
  const lock = path.join(root, 'package-lock.json');
  const wanted = createHash('sha256').update(readFileSync(lock)).digest('hex');
  const marker = path.join(root, 'node_modules', '.bluelight-lock.sha256');
  if (existsSync(marker) && readFileSync(marker, 'utf8').trim() === wanted) return;
  heading('Installing npm packages (npm install, from package-lock.json)');
  // Not `npm ci`: it rejects this lockfile because some optional platform packages (e.g. Biome's
  // Android builds) are absent from the registry, which `npm install` tolerates.
  const code = await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=http']);
  if (code !== 0) {
    console.error('npm install failed; see the output above.');
    process.exit(code);
  }
  writeFileSync(marker, `${wanted}\n`);
}

function readVitestCounts() {
  const file = path.join(resultsDir, 'vitest.json');
  if (!existsSync(file)) return undefined;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  return {
    passed: report.numPassedTests ?? 0,
    failed: report.numFailedTests ?? 0,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
  };
}

function readPytestCounts() {
  const file = path.join(resultsDir, 'pytest.xml');
  if (!existsSync(file)) return undefined;
  const xml = readFileSync(file, 'utf8');
  const attr = (name) =>
    Number(new RegExp(`<testsuite[^>]*\\s${name}="(\\d+)"`).exec(xml)?.[1] ?? 0);
  const total = attr('tests');
  const failed = attr('failures') + attr('errors');
  const skipped = attr('skipped');
  return { passed: total - failed - skipped, failed, skipped };
}

async function test() {
  rmSync(resultsDir, { recursive: true, force: true });
  mkdirSync(resultsDir, { recursive: true });
  const failures = [];
  const step = async (name, command, args, options) => {
    heading(name);
    const code = await run(command, args, options);
    if (code !== 0) failures.push(`${name} (exit code ${code})`);
    return code;
  };

  await step('Lint and format (Biome)', bin('biome'), ['ci', '--colors=off', '.']);
  await step('Typecheck (tsc)', bin('tsc'), ['-p', 'tsconfig.json']);
  await step('Build (services/*/dist, as the images run them)', process.execPath, [
    path.join(root, 'infra', 'build.mjs'),
  ]);
  const prepared = await step(
    'Local stack prerequisites (Kafka jars, chDB virtualenv, headless Chromium)',
    bin('bluelight'),
    ['stack', 'prepare', '--browser'],
  );
  if (prepared === 0) {
    await step(
      'ClickHouse HTTP server tests (pytest)',
      path.join(localHome, 'venv', 'bin', 'python'),
      [
        '-m',
        'pytest',
        '-q',
        'infra/local-stack/clickhouse',
        `--junitxml=${path.join(resultsDir, 'pytest.xml')}`,
      ],
    );
  }
  await step('Unit and integration tests (Vitest)', bin('vitest'), [
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${path.join(resultsDir, 'vitest.json')}`,
  ]);

  const counts = [readVitestCounts(), readPytestCounts()].filter(Boolean);
  const total = counts.reduce(
    (sum, c) => ({
      passed: sum.passed + c.passed,
      failed: sum.failed + c.failed,
      skipped: sum.skipped + c.skipped,
    }),
    { passed: 0, failed: 0, skipped: 0 },
  );
  heading('Summary');
  if (failures.length > 0) {
    console.log(`failed steps:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  } else {
    console.log('all steps passed');
  }
  // One plain closing line that CI and people can read.
  console.log(`tests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  process.exit(failures.length > 0 || total.failed > 0 ? 1 : 0);
}

async function main() {
  checkNode();
  const [command, ...rest] = process.argv.slice(2);
  await ensureNodeModules();
  if (command === 'test') return test();
  if (command === 'run') process.exit(await run(bin('bluelight'), ['run', ...rest]));
  console.error('usage: node infra/bootstrap.mjs run|test');
  process.exit(2);
}

await main();
