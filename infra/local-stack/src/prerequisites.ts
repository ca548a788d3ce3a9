import { existsSync } from 'node:fs';
import { runCommand } from './run-command.js';

export class MissingPrerequisiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingPrerequisiteError';
  }
}

interface Tool {
  command: string;
  args: string[];
  /** Extracts the major (and minor) version from what the tool prints. */
  version: RegExp;
  minimum: [number, number];
  why: string;
  install: string;
}

const TOOLS: Record<'java' | 'mvn' | 'python3', Tool> = {
  java: {
    command: 'java',
    args: ['-version'],
    version: /version "(\d+)(?:\.(\d+))?/,
    minimum: [17, 0],
    why: 'runs the Kafka broker',
    install: 'apt-get install openjdk-17-jre-headless',
  },
  mvn: {
    command: 'mvn',
    args: ['--version'],
    version: /Apache Maven (\d+)\.(\d+)/,
    minimum: [3, 6],
    why: 'fetches the Kafka broker jars from Maven Central',
    install: 'apt-get install maven',
  },
  python3: {
    command: 'python3',
    args: ['--version'],
    version: /Python (\d+)\.(\d+)/,
    minimum: [3, 9],
    why: 'runs the ClickHouse engine (chDB) and its HTTP server',
    install: 'apt-get install python3 python3-venv',
  },
};

/** Fails with a message that says which tool is missing or too old, why it is needed and how to get it. */
export async function checkPrerequisite(name: keyof typeof TOOLS): Promise<void> {
  const tool = TOOLS[name];
  let output: string[];
  try {
    output = await runCommand(tool.command, tool.args);
  } catch {
    throw new MissingPrerequisiteError(
      `${tool.command} was not found on PATH; it ${tool.why}. Install it (e.g. \`${tool.install}\`) and try again.`,
    );
  }
  const match = tool.version.exec(output.join('\n'));
  const major = Number(match?.[1] ?? 0);
  const minor = Number(match?.[2] ?? 0);
  const [needMajor, needMinor] = tool.minimum;
  if (major < needMajor || (major === needMajor && minor < needMinor)) {
    throw new MissingPrerequisiteError(
      `${tool.command} ${major}.${minor} is too old; ${needMajor}.${needMinor} or newer is needed because it ${tool.why}.`,
    );
  }
}

/**
 * Fails unless the chDB virtualenv's interpreter exists. It is a symlink to the system python3,
 * so it dangles once python3 is removed, and spawning it would fail with a bare ENOENT.
 */
export function checkVenvPython(python: string): void {
  if (existsSync(python)) return;
  const tool = TOOLS.python3;
  throw new MissingPrerequisiteError(
    `${python} was not found; python3 ${tool.why}. Install it (e.g. \`${tool.install}\`), then run \`bluelight stack prepare\` to rebuild the environment and try again.`,
  );
}
