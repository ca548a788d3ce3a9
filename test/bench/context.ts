import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabaseIfMissing, migrateUp } from '@bluelight/clickhouse-schema';
import { freePort, LocalStack, localHome } from '@bluelight/local-stack';
import { topics } from '@bluelight/schemas';
import {
  type ClickHouseClient,
  createClickHouse,
  createKafkaClients,
  createLogger,
} from '@bluelight/service-kit';
import { round } from './stats.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const benchDir = path.join(repoRoot, 'test', 'bench');
const logDir = path.join(repoRoot, '.local', 'bench-logs');

export const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** A name no other run uses, valid for a ClickHouse database and a Kafka topic prefix. */
export const runName = (prefix: string) =>
  `${prefix}_${Date.now().toString(36)}_${randomBytes(2).toString('hex')}`;

export const logger = createLogger({ service: 'bench', level: 'warn' });

/**
 * The benchmark's own local stack ("bench"), so results are not disturbed by a running main job;
 * started on free ports the first time and reused after.
 */
export async function benchStack(): Promise<LocalStack> {
  const created = existsSync(path.join(localHome(), 'stacks', 'bench', 'stack.json'));
  const stack = await LocalStack.open(
    created
      ? { name: 'bench' }
      : { name: 'bench', kafkaPort: await freePort(), clickhousePort: await freePort() },
  );
  await stack.up((line) => say(line));
  return stack;
}

export function clickhouse(stack: LocalStack, database?: string): ClickHouseClient {
  return createClickHouse({
    url: stack.clickhouseUrl,
    database,
    application: 'bluelight-bench',
    requestTimeoutMs: 600_000,
  });
}

/** A fresh migrated database of the benchmark's own. */
export async function freshDatabase(stack: LocalStack, prefix: string) {
  const database = runName(prefix);
  const server = clickhouse(stack);
  await createDatabaseIfMissing(server, database);
  await server.close();
  const client = clickhouse(stack, database);
  await migrateUp(client);
  return { database, client };
}

export function kafka(stack: LocalStack) {
  return createKafkaClients({ brokers: stack.kafkaBrokers, clientId: 'bench', logger });
}

/** Starts a service as a child process (as in production), its output in .local/bench-logs. */
export function startChild(
  name: string,
  mainFile: string,
  env: Record<string, string>,
): ChildProcess {
  mkdirSync(logDir, { recursive: true });
  const log = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  // BENCH_NODE_ARGS: extra Node options for the children, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p".
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', path.join(repoRoot, mainFile)],
    {
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 200,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** How far a consumer group has committed on a topic, summed over partitions. */
export async function committed(
  admin: ReturnType<ReturnType<typeof kafka>['admin']>,
  group: string,
  topic: string,
): Promise<number> {
  const offsets = await admin.committedOffsets(group, topic);
  return offsets.reduce((sum, { offset }) => sum + Math.max(Number(offset), 0), 0);
}

export async function endOffsets(
  admin: ReturnType<ReturnType<typeof kafka>['admin']>,
  topic: string,
): Promise<number> {
  const offsets = await admin.endOffsets(topic);
  return offsets.reduce((sum, { offset }) => sum + Number(offset), 0);
}

export const FAMILIES = ['calls', 'incidents', 'resources'] as const;
export type Family = (typeof FAMILIES)[number];

/** The registry's topic for a family (its name without a prefix, its partitions). */
export function topicByFamily(family: Family) {
  const topic = topics.find((candidate) => candidate.family === family);
  if (!topic) throw new Error(`no topic for ${family}`);
  return topic;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux only). */
async function processCpuSeconds(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

// USER_HZ: 100 on every Linux build this runs on (sysconf(_SC_CLK_TCK)).
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds used by the stack's engines and the given processes over a piece of work, so a
 * benchmark can say where a 2-core machine's time went, not only how long it took.
 */
export async function cpuMeter(
  stack: LocalStack,
  others: Record<string, () => number | undefined>,
) {
  const engines = (await stack.status()).filter((component) => component.pid !== undefined);
  const read = async () => {
    const seconds: Record<string, number> = {};
    for (const engine of engines) {
      seconds[engine.id] = (await processCpuSeconds(engine.pid as number)) ?? 0;
    }
    for (const [name, pidOf] of Object.entries(others)) {
      const pid = pidOf();
      if (pid === undefined) continue;
      seconds[name] =
        pid === process.pid ? processSelfCpu() : ((await processCpuSeconds(pid)) ?? 0);
    }
    return seconds;
  };
  const before = await read();
  return async () => {
    const after = await read();
    return Object.fromEntries(
      Object.entries(after).map(([name, value]) => [name, round(value - (before[name] ?? 0))]),
    );
  };
}

const processSelfCpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
};
