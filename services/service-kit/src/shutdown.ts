import type { Logger } from 'pino';

const DUPLICATE_SIGNAL_WINDOW_MS = 2_000;

export type ShutdownHook = () => Promise<void> | void;

export interface GracefulShutdown {
  /**
   * Registers work to do on shutdown. Hooks run one at a time in reverse order of registration:
   * what started last (say, the HTTP listener taking new work) stops first, and what everything
   * else depends on (the Kafka producer) is flushed last.
   */
  onShutdown(name: string, hook: ShutdownHook): void;
  /** Starts shutdown once; later calls return the same promise. Resolves with the exit code. */
  shutdown(reason: string, exitCode?: number): Promise<number>;
  readonly isShuttingDown: boolean;
  /**
   * SIGTERM and SIGINT start shutdown; another signal more than 2 s later, while still shutting
   * down, exits at once (code 130). Returns a function that removes the handlers.
   */
  installSignalHandlers(): () => void;
}

export interface ShutdownOptions {
  logger: Logger;
  /** Past this, shutdown gives up on the remaining hooks and exits with code 1. */
  timeoutMs?: number;
  /** Called with the final exit code; defaults to process.exit. Tests pass their own. */
  exit?: (code: number) => void;
}

export function createGracefulShutdown(options: ShutdownOptions): GracefulShutdown {
  const { logger } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const hooks: { name: string; hook: ShutdownHook }[] = [];
  let running: Promise<number> | undefined;

  async function runHooks(initialCode: number): Promise<number> {
    let exitCode = initialCode;
    for (const { name, hook } of [...hooks].reverse()) {
      const started = Date.now();
      try {
        await hook();
        logger.info({ hook: name, ms: Date.now() - started }, 'shutdown step done');
      } catch (error) {
        exitCode = 1;
        logger.error({ hook: name, err: error }, 'shutdown step failed');
      }
    }
    return exitCode;
  }

  function shutdown(reason: string, exitCode = 0): Promise<number> {
    if (running) return running;
    logger.info({ reason }, 'shutting down');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        logger.error({ timeoutMs }, 'shutdown timed out; exiting with work unfinished');
        resolve(1);
      }, timeoutMs);
      timer.unref();
    });
    running = Promise.race([runHooks(exitCode), deadline]).then((code) => {
      clearTimeout(timer);
      logger.info({ exitCode: code }, 'shutdown complete');
      exit(code);
      return code;
    });
    return running;
  }

  let firstSignalAt = 0;

  function installSignalHandlers(): () => void {
    const handlers = (['SIGTERM', 'SIGINT'] as const).map((signal) => {
      const handler = () => {
        // One Ctrl-C often arrives several times (the terminal signals the whole process group
        // and wrappers such as npm forward it too); only a signal well after the first forces exit.
        if (running && Date.now() - firstSignalAt < DUPLICATE_SIGNAL_WINDOW_MS) return;
        if (running) {
          logger.warn({ signal }, 'second signal during shutdown; exiting now');
          exit(130);
          return;
        }
        firstSignalAt = Date.now();
        void shutdown(signal);
      };
      process.on(signal, handler);
      return { signal, handler };
    });
    return () => {
      for (const { signal, handler } of handlers) process.off(signal, handler);
    };
  }

  return {
    onShutdown(name, hook) {
      hooks.push({ name, hook });
    },
    shutdown,
    get isShuttingDown() {
      return running !== undefined;
    },
    installSignalHandlers,
  };
}
