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

/** Where each HTTP service answers `/readyz`: its port variable and that variable's default. */
export const READINESS_PORTS: Partial<Record<ServiceName, { variable: string; port: number }>> = {
  'clickhouse-sink': { variable: 'SINK_PORT', port: 9464 },
  'ingest-gateway': { variable: 'GATEWAY_PORT', port: 8088 },
  'query-api': { variable: 'QUERY_API_PORT', port: 8089 },
};

/**
 * Resolves when the service's `/readyz` answers 200 (its Kafka or ClickHouse checks pass);
 * rejects after `timeoutMs`, or at once when the process exits first.
 */
export async function waitUntilReady(
  name: ServiceName,
  child: ChildProcess,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<void> {
  const readiness = READINESS_PORTS[name];
  if (!readiness) return;
  const port = env[readiness.variable] || String(readiness.port);
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
