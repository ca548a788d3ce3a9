import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { createGracefulShutdown } from './shutdown.js';

function quietLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { logger: createLogger({ service: 'test', destination }), lines };
}

describe('createGracefulShutdown', () => {
  it('runs hooks once, last registered first, and exits 0', async () => {
    const { logger } = quietLogger();
    const exits: number[] = [];
    const order: string[] = [];
    const shutdown = createGracefulShutdown({ logger, exit: (code) => exits.push(code) });
    shutdown.onShutdown('producer', () => {
      order.push('flush producer');
    });
    shutdown.onShutdown('http', async () => {
      order.push('close http');
    });
    expect(shutdown.isShuttingDown).toBe(false);
    const first = shutdown.shutdown('SIGTERM');
    const second = shutdown.shutdown('SIGINT');
    expect(shutdown.isShuttingDown).toBe(true);
    expect(await first).toBe(0);
    expect(await second).toBe(0);
    expect(order).toEqual(['close http', 'flush producer']);
    expect(exits).toEqual([0]);
  });

  it('keeps going after a failing hook and exits 1', async () => {
    const { logger, lines } = quietLogger();
    const exits: number[] = [];
    const ran: string[] = [];
    const shutdown = createGracefulShutdown({ logger, exit: (code) => exits.push(code) });
    shutdown.onShutdown('first', () => {
      ran.push('first');
    });
    shutdown.onShutdown('broken', () => {
      throw new Error('disk full');
    });
    expect(await shutdown.shutdown('test')).toBe(1);
    expect(ran).toEqual(['first']);
    expect(exits).toEqual([1]);
    expect(
      lines.some((line) => line.includes('"hook":"broken"') && line.includes('disk full')),
    ).toBe(true);
  });

  it('gives up on a hung hook after the timeout and exits 1', async () => {
    const { logger } = quietLogger();
    const exits: number[] = [];
    const shutdown = createGracefulShutdown({
      logger,
      timeoutMs: 50,
      exit: (code) => exits.push(code),
    });
    shutdown.onShutdown('hangs', () => new Promise<void>(() => {}));
    expect(await shutdown.shutdown('test')).toBe(1);
    expect(exits).toEqual([1]);
  });

  it('treats a repeated Ctrl-C as one: hooks finish and the exit code stays 0', async () => {
    const { logger } = quietLogger();
    const exits: number[] = [];
    let release: () => void = () => {};
    const shutdown = createGracefulShutdown({ logger, exit: (code) => exits.push(code) });
    shutdown.onShutdown('slow', () => new Promise<void>((resolve) => (release = resolve)));
    const uninstall = shutdown.installSignalHandlers();
    try {
      // The terminal signals the process group, and npm forwards the same Ctrl-C again.
      process.emit('SIGINT');
      process.emit('SIGINT');
      process.emit('SIGTERM');
      expect(shutdown.isShuttingDown).toBe(true);
      release();
      expect(await shutdown.shutdown('already running')).toBe(0);
      expect(exits).toEqual([0]);
    } finally {
      uninstall();
    }
  });
});
