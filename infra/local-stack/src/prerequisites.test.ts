import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { clickhouseServerDir, kafkaLibsDir, venvDir, venvPython } from './downloads.js';
import { checkPrerequisite, MissingPrerequisiteError } from './prerequisites.js';
import { LocalStack } from './stack.js';

const originalPath = process.env.PATH;
const originalHome = process.env.BLUELIGHT_HOME;
const folders: string[] = [];

afterEach(async () => {
  process.env.PATH = originalPath;
  if (originalHome === undefined) delete process.env.BLUELIGHT_HOME;
  else process.env.BLUELIGHT_HOME = originalHome;
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

/** A PATH holding one fake tool that prints `output`, so version checks can be tried. */
async function pathWithFake(tool: string, output: string): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'bluelight-path-'));
  folders.push(folder);
  const script = path.join(folder, tool);
  await writeFile(script, `#!/bin/sh\necho '${output}' >&2\n`, { mode: 0o755 });
  return folder;
}

describe('checkPrerequisite', () => {
  it('names the missing tool, what it is for and how to install it', async () => {
    process.env.PATH = await pathWithFake('unrelated', '');
    const error = await checkPrerequisite('java').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingPrerequisiteError);
    expect((error as Error).message).toBe(
      'java was not found on PATH; it runs the Kafka broker. Install it (e.g. `apt-get install openjdk-17-jre-headless`) and try again.',
    );
  });

  it('names a missing mvn, what it is for and how to install it', async () => {
    process.env.PATH = await pathWithFake('java', 'openjdk version "17.0.15" 2025-04-15');
    await expect(checkPrerequisite('mvn')).rejects.toThrow(
      new MissingPrerequisiteError(
        'mvn was not found on PATH; it fetches the Kafka broker jars from Maven Central. Install it (e.g. `apt-get install maven`) and try again.',
      ),
    );
  });

  it('names a missing python3, what it is for and how to install it', async () => {
    process.env.PATH = await pathWithFake('unrelated', '');
    await expect(checkPrerequisite('python3')).rejects.toThrow(
      new MissingPrerequisiteError(
        'python3 was not found on PATH; it runs the ClickHouse engine (chDB) and its HTTP server. Install it (e.g. `apt-get install python3 python3-venv`) and try again.',
      ),
    );
  });

  it('rejects a Java older than 17 and accepts 17', async () => {
    process.env.PATH = await pathWithFake('java', 'openjdk version "11.0.2" 2019-01-15');
    await expect(checkPrerequisite('java')).rejects.toThrow(
      'java 11.0 is too old; 17.0 or newer is needed because it runs the Kafka broker.',
    );
    process.env.PATH = await pathWithFake('java', 'openjdk version "17.0.15" 2025-04-15');
    await expect(checkPrerequisite('java')).resolves.toBeUndefined();
  });

  it('accepts the tools installed on this machine', async () => {
    for (const tool of ['java', 'mvn', 'python3'] as const) {
      await expect(checkPrerequisite(tool)).resolves.toBeUndefined();
    }
  });
});

/** An empty BLUELIGHT_HOME; the stack opened in it never reaches a spawn in these tests. */
async function emptyHome(): Promise<string> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'bluelight-home-'));
  folders.push(home);
  process.env.BLUELIGHT_HOME = home;
  return home;
}

// Downloads are cached, so prepare() checks nothing; launching must still check before spawning.
describe('starting engines with everything cached', () => {
  it('stops with the java message, not a spawn error, when java is gone', async () => {
    await emptyHome();
    await mkdir(kafkaLibsDir(), { recursive: true });
    await writeFile(path.join(kafkaLibsDir(), '.complete'), 'kafka_2.13-4.4.0.jar\n');
    process.env.PATH = await pathWithFake('mvn', 'Apache Maven 3.9.9');
    const stack = await LocalStack.open({ name: 'no-java', components: ['kafka'] });
    await expect(stack.up(() => {})).rejects.toThrow(
      new MissingPrerequisiteError(
        'java was not found on PATH; it runs the Kafka broker. Install it (e.g. `apt-get install openjdk-17-jre-headless`) and try again.',
      ),
    );
    await expect(stack.start('kafka-1')).rejects.toBeInstanceOf(MissingPrerequisiteError);
    expect(existsSync(path.join(stack.dir, 'kafka-1.pid'))).toBe(false);
  });

  it("stops with a python3 message when the venv's interpreter dangles", async () => {
    await emptyHome();
    // A venv's python is a symlink to the system's; this one points at a python3 now removed.
    await mkdir(path.join(venvDir(), 'bin'), { recursive: true });
    await symlink('/nonexistent/python3', venvPython());
    const requirements = await readFile(path.join(clickhouseServerDir, 'requirements.txt'));
    await writeFile(
      path.join(venvDir(), '.bluelight-requirements.sha256'),
      `${createHash('sha256').update(requirements).digest('hex')}\n`,
    );
    process.env.PATH = await pathWithFake('unrelated', '');
    const stack = await LocalStack.open({ name: 'no-python', components: ['clickhouse'] });
    // start() launches without preparing: the interpreter itself is checked.
    await expect(stack.start('clickhouse')).rejects.toThrow(
      new MissingPrerequisiteError(
        `${venvPython()} was not found; python3 runs the ClickHouse engine (chDB) and its HTTP server. Install it (e.g. \`apt-get install python3 python3-venv\`), then run \`bluelight stack prepare\` to rebuild the environment and try again.`,
      ),
    );
    // up() prepares first: the broken venv is to be rebuilt, which needs python3.
    await expect(stack.up(() => {})).rejects.toThrow(/^python3 was not found on PATH/);
    expect(existsSync(path.join(stack.dir, 'clickhouse.pid'))).toBe(false);
  });
});
