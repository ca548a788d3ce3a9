import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A long-running engine process the stack owns. Its pid is kept in a file, and the process is
 * recognised by a marker on its command line, so a pid reused by an unrelated program after a
 * reboot is never signalled.
 */
export interface ManagedProcess {
  name: string;
  pidFile: string;
  logFile: string;
  /** A string unique to this process's command line (e.g. its data folder). */
  marker: string;
}

async function readPid(process_: ManagedProcess): Promise<number | undefined> {
  if (!existsSync(process_.pidFile)) return undefined;
  const pid = Number.parseInt((await readFile(process_.pidFile, 'utf8')).trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** True when a process with this pid exists and we may signal it. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    // ESRCH: gone. EPERM: the pid belongs to another user, so it is not ours either.
    return false;
  }
}

async function commandLineHas(pid: number, marker: string): Promise<boolean> {
  const procFile = `/proc/${pid}/cmdline`;
  if (!existsSync('/proc/self/cmdline')) return true; // no procfs (macOS): trust the pid file
  try {
    const cmdline = await readFile(procFile, 'utf8');
    return cmdline.replaceAll('\0', ' ').includes(marker);
  } catch {
    return false;
  }
}

/** The pid of the running process, or undefined if it is not running. */
export async function runningPid(process_: ManagedProcess): Promise<number | undefined> {
  const pid = await readPid(process_);
  if (pid === undefined || !processAlive(pid)) return undefined;
  if (!(await commandLineHas(pid, process_.marker))) return undefined;
  // A zombie (exited, not yet reaped by its parent) is not running.
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return undefined;
  } catch {
    // no procfs: keep the answer from kill(0)
  }
  return pid;
}

/**
 * Starts a process that outlives this one (its own process group, output appended to its log
 * file) and records its pid.
 */
export async function startDetached(
  process_: ManagedProcess,
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<number> {
  const log = openSync(process_.logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid as number));
    });
    child.unref();
    await writeFile(process_.pidFile, `${pid}\n`);
    return pid;
  } finally {
    closeSync(log);
  }
}

/**
 * Stops the process: SIGTERM, wait up to graceMs for it to exit, then SIGKILL. Resolves once it is
 * gone, so no orphan is left behind. Returns how it ended.
 */
export async function stopProcess(
  process_: ManagedProcess,
  graceMs: number,
): Promise<'not running' | 'stopped' | 'killed'> {
  const pid = await runningPid(process_);
  if (pid === undefined) {
    await rm(process_.pidFile, { force: true });
    return 'not running';
  }
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if ((await runningPid(process_)) === undefined) {
      await rm(process_.pidFile, { force: true });
      return 'stopped';
    }
    await sleep(100);
  }
  process.kill(pid, 'SIGKILL');
  while ((await runningPid(process_)) !== undefined) await sleep(50);
  await rm(process_.pidFile, { force: true });
  return 'killed';
}

/** Kills the process at once, as a crash would (for fault tests). */
export async function killProcess(process_: ManagedProcess): Promise<void> {
  const pid = await runningPid(process_);
  if (pid === undefined) return;
  process.kill(pid, 'SIGKILL');
  while ((await runningPid(process_)) !== undefined) await sleep(50);
  await rm(process_.pidFile, { force: true });
}

/** The last lines of a log file, for error messages and `stack logs`; reads only the file's end. */
export async function tailFile(file: string, lines: number): Promise<string[]> {
  if (!existsSync(file)) return [];
  const handle = await open(file, 'r');
  let text: string;
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, Math.max(64 * 1024, lines * 512));
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    text = buffer.toString('utf8');
  } finally {
    await handle.close();
  }
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  return all.slice(-lines);
}
