import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@bluelight/local-stack';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface UnexpectedExit {
  service: string;
  code: number | null;
  signal: string | null;
  atMs: number;
}

/**
 * A Bluelight service (the sink or the gateway) run as a real child process —
 * `node --import tsx services/<name>/src/main.ts` — with its output appended to a log file.
 * The runner kills it with SIGKILL on purpose; any other exit is recorded as unexpected and the
 * process is started again after a second, as a supervisor (systemd, Kubernetes) would.
 */
export class ServiceProcess {
  readonly unexpectedExits: UnexpectedExit[] = [];
  #child: ChildProcess | undefined;
  #expectingExit = false;
  #stopped = false;
  #restarts = 0;

  constructor(
    readonly name: string,
    readonly entry: string,
    readonly env: Record<string, string>,
    readonly logFile: string,
    /** Answers 200 once the service is ready (its /readyz). */
    readonly readyUrl: string,
    readonly origin: number,
  ) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #note(line: string): void {
    const fd = openSync(this.logFile, 'a');
    writeSync(fd, `---- fault runner: ${line} (${new Date().toISOString()})\n`);
    closeSync(fd);
  }

  /** Starts the process and waits until it is ready. */
  async start(timeoutMs = 90_000): Promise<void> {
    this.#stopped = false;
    this.#expectingExit = false;
    this.#note(`starting ${this.name}`);
    const fd = openSync(this.logFile, 'a');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'services', this.entry)],
      {
        cwd: repoRoot,
        env: { ...process.env, ...this.env },
        stdio: ['ignore', fd, fd],
      },
    );
    closeSync(fd);
    this.#child = child;
    child.once('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      if (this.#expectingExit || this.#stopped) return;
      this.unexpectedExits.push({
        service: this.name,
        code,
        signal,
        atMs: Date.now() - this.origin,
      });
      this.#note(`${this.name} exited unexpectedly (code ${code}, signal ${signal})`);
      if (this.#restarts < 5) {
        this.#restarts += 1;
        void sleep(1_000).then(() => {
          if (!this.#stopped && this.#child === undefined) {
            this.start().catch((error) => this.#note(`restart failed: ${error}`));
          }
        });
      }
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.#child !== child) throw new Error(`${this.name} exited while starting`);
      try {
        const response = await fetch(this.readyUrl, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(200);
    }
    throw new Error(`${this.name} was not ready within ${timeoutMs} ms (see ${this.logFile})`);
  }

  /** kill -9, and waits until the process is gone. */
  async kill9(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#expectingExit = true;
    this.#note(`SIGKILL ${this.name} (pid ${child.pid})`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM (SIGKILL after 30 s); no restart. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const child = this.#child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
  }

  /** Synchronous last resort (process exit handlers). */
  killNow(): void {
    this.#stopped = true;
    this.#child?.kill('SIGKILL');
  }
}
