import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkPrerequisite, MissingPrerequisiteError } from './prerequisites.js';

const originalPath = process.env.PATH;
const folders: string[] = [];

afterEach(async () => {
  process.env.PATH = originalPath;
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
