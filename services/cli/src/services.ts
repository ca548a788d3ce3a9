import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const servicesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const binFile = path.resolve(servicesDir, 'cli/bin/bluelight.mjs');

/** Bluelight's long-running processes, started by the main job in this order (Node arguments). */
export const SERVICES = {
  'clickhouse-sink': ['--import', 'tsx', path.join(servicesDir, 'clickhouse-sink/src/main.ts')],
  'ingest-gateway': ['--import', 'tsx', path.join(servicesDir, 'ingest-gateway/src/main.ts')],
  'query-api': ['--import', 'tsx', path.join(servicesDir, 'query-api/src/main.ts')],
  // The live feed: the last 7 days at once, so dashboards have history, then events as they happen.
  simulator: [binFile, 'simulate', '--from', '-7d', '--speed', '1', '--out', 'kafka'],
} as const;

export type ServiceName = keyof typeof SERVICES;

/**
 * The port each HTTP service will listen on with this environment, read through the service's
 * own config schema (its variable and default), so the job never probes a port the service does
 * not use. A bad value is left out: the service itself stops on it, naming the variable.
 */
export async function servicePorts(
  env: NodeJS.ProcessEnv,
): Promise<Partial<Record<ServiceName, number>>> {
  // Loaded on use: these module graphs would slow every other CLI command's start.
  const [{ sinkConfigSchema }, { gatewayConfigSchema }, { queryApiConfigSchema }] =
    await Promise.all([
      import('@bluelight/clickhouse-sink'),
      import('@bluelight/ingest-gateway'),
      import('@bluelight/query-api'),
    ]);
  const port = (field: { safeParse: (value: unknown) => { data?: unknown } }, name: string) => {
    const { data } = field.safeParse(env[name] || undefined);
    return typeof data === 'number' ? data : undefined;
  };
  return {
    'clickhouse-sink': port(sinkConfigSchema.shape.SINK_PORT, 'SINK_PORT'),
    'ingest-gateway': port(gatewayConfigSchema.shape.GATEWAY_PORT, 'GATEWAY_PORT'),
    'query-api': port(queryApiConfigSchema.shape.QUERY_API_PORT, 'QUERY_API_PORT'),
  };
}

/**
 * Resolves when the service's `/readyz` on `port` answers 200 (its Kafka or ClickHouse checks
 * pass); at once when it has no port; rejects after `timeoutMs`, or when the process exits first.
 */
export async function waitUntilReady(
  name: ServiceName,
  child: ChildProcess,
  port: number | undefined,
  timeoutMs: number,
): Promise<void> {
  if (port === undefined) return;
  const url = `http://127.0.0.1:${port}/readyz`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited before it was ready`);
    }
    const status = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) {
      throw new Error(`${name} was not ready at ${url} after ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Runs `bluelight <args>` to completion with inherited output; resolves with its exit code. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binFile, ...args], { env, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

/** Starts a service as a child process, its JSON log lines appended to `logFile`. */
export function startService(
  name: ServiceName,
  env: NodeJS.ProcessEnv,
  logFile: string,
): ChildProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [...SERVICES[name]], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** SIGTERM, then wait for the exit (the service finishes and commits its work). */
export async function stopService(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
