import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { LocalStack, localHome, processAlive } from '@bluelight/local-stack';
import { freeStackPorts } from '../harness/endpoints.js';

/**
 * A private local stack for one fault run, started the way the test harness's startPrivateStack
 * does (free consecutive ports per broker), but without vitest's `inject`, so the runner works
 * as a plain script. Names carry the runner's pid, so leftovers of an interrupted runner (whose
 * pid is gone) can be told from stacks in use and removed.
 */
export async function startFaultStack(options: {
  brokers: 1 | 3;
  /** Lower-case letters, digits and dashes; `faults-<pid>-…` for the runner. */
  name: string;
}): Promise<LocalStack> {
  const { brokers } = options;
  const stack = await LocalStack.open({
    name: options.name,
    brokers,
    ...(await freeStackPorts(brokers)),
    components: ['kafka', 'clickhouse'],
  });
  try {
    await stack.up(() => {});
  } catch (error) {
    await stack.reset(() => {}).catch(() => {});
    throw error;
  }
  return stack;
}

export function faultStackName(runNumber: number): string {
  return `faults-${process.pid}-${runNumber}-${randomBytes(2).toString('hex')}`;
}

/** Removes `faults-<pid>-…` stacks whose runner is gone (interrupted with kill -9, say). */
export async function removeLeftoverFaultStacks(say: (line: string) => void): Promise<void> {
  const stacksDir = path.join(localHome(), 'stacks');
  if (!existsSync(stacksDir)) return;
  for (const name of readdirSync(stacksDir)) {
    const match = /^faults-(\d+)-/.exec(name);
    if (!match || processAlive(Number(match[1]))) continue;
    say(`removing ${name}, left by an interrupted fault run`);
    await (await LocalStack.open({ name })).reset(() => {});
  }
}
