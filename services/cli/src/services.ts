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
