import { spawn } from 'node:child_process';
import readline from 'node:readline';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each line the command prints (stdout and stderr), for progress display. */
  onLine?: (line: string) => void;
}

export class CommandFailedError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly lastLines: string[],
  ) {
    super(
      `${command} failed (exit code ${exitCode ?? 'none'})${
        lastLines.length > 0 ? `; its last lines:\n${lastLines.join('\n')}` : ''
      }`,
    );
    this.name = 'CommandFailedError';
  }
}

/** Runs a command to completion, streaming its lines to onLine and keeping the last few for errors. */
export function runCommand(
  command: string,
  args: string[],
  options: RunOptions = {},
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const remember = (line: string) => {
      lines.push(line);
      if (lines.length > 200) lines.shift();
      options.onLine?.(line);
    };
    readline.createInterface({ input: child.stdout }).on('line', remember);
    readline.createInterface({ input: child.stderr }).on('line', remember);
    child.on('error', (error) => reject(error));
    child.on('close', (code) => {
      const printed = `${command} ${args.join(' ')}`;
      if (code === 0) resolve(lines);
      else reject(new CommandFailedError(printed, code, lines.slice(-20)));
    });
  });
}
