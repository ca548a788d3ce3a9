import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's top folder (this file is infra/local-stack/src/paths.ts). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Where the local stack keeps downloads and data; gitignored. BLUELIGHT_HOME overrides it. */
export function localHome(): string {
  return path.resolve(process.env.BLUELIGHT_HOME ?? path.join(repoRoot, '.local'));
}

export const infraLocalDir = path.join(repoRoot, 'infra', 'local-stack');

export function stackDir(stackName: string): string {
  return path.join(localHome(), 'stacks', stackName);
}
