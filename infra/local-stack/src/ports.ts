import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** True when nothing listens on 127.0.0.1:port (we could bind it ourselves). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** A port the operating system reports free right now (for private test stacks). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True when a TCP connection to 127.0.0.1:port is accepted. */
export function portAccepts(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Polls `probe` until it returns true, failing early when `stillAlive` says the process died and
 * after timeoutMs. The error explains what was waited for.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; stillAlive?: () => Promise<boolean>; intervalMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    if (options.stillAlive && !(await options.stillAlive())) {
      throw new Error(`${what}: the process exited while starting`);
    }
    await sleep(options.intervalMs ?? 200);
  }
  throw new Error(`${what}: not ready after ${Math.round(options.timeoutMs / 1000)} s`);
}
