import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  canControlEngines,
  kafkaFor,
  startPrivateStack,
  uniqueName,
} from '@bluelight/test/harness';
import { describe, expect, it } from 'vitest';
import { LocalStack, StackConfigurationError } from './stack.js';

const run = promisify(execFile);

async function processAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    const { stdout } = await run('ps', ['-o', 'stat=', '-p', String(pid)]);
    return !stdout.trim().startsWith('Z');
  } catch {
    return false;
  }
}

// These tests start their own stacks; they need the local stack, not Docker or a remote cluster.
describe.skipIf(!canControlEngines())('local stack lifecycle (real processes)', () => {
  it('is idempotent: up twice starts once, down leaves no process behind', async () => {
    const { stack, cleanup } = await startPrivateStack({ components: ['kafka', 'clickhouse'] });
    try {
      const first = await stack.status();
      expect(first.map((c) => [c.id, c.running])).toEqual([
        ['kafka-1', true],
        ['clickhouse', true],
      ]);
      const again = await stack.up(() => {});
      expect(again).toEqual({ started: [], alreadyRunning: ['kafka-1', 'clickhouse'] });
      const samePids = (await stack.status()).map((c) => c.pid);
      expect(samePids).toEqual(first.map((c) => c.pid));

      await stack.down(() => {});
      for (const component of first) {
        expect(await processAlive(component.pid as number)).toBe(false);
      }
      expect((await stack.status()).every((c) => !c.running)).toBe(true);
      expect(existsSync(path.join(stack.dir, 'kafka-1.pid'))).toBe(false);
      // A second down is harmless.
      await stack.down(() => {});
    } finally {
      await cleanup();
    }
    expect(existsSync(stack.dir)).toBe(false);
  });

  it('refuses to start on a port another program holds, naming the port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const stack = await LocalStack.open({
      name: `t-port-${port}`,
      components: ['clickhouse'],
      clickhousePort: port,
    });
    try {
      await expect(stack.up(() => {})).rejects.toThrow(
        new RegExp(`port ${port} on 127.0.0.1 is in use by another program`),
      );
    } finally {
      blocker.close();
      await stack.reset(() => {});
    }
  });

  it('refuses options that contradict an existing stack', async () => {
    const { stack, cleanup } = await startPrivateStack({ components: ['clickhouse'] });
    try {
      await expect(
        LocalStack.open({
          name: stack.layout.name,
          clickhousePort: stack.layout.clickhousePort + 1,
        }),
      ).rejects.toBeInstanceOf(StackConfigurationError);
    } finally {
      await cleanup();
    }
  });

  it('runs a three-broker cluster with replication factor 3 that keeps accepting writes with a broker down', async () => {
    const { stack, cleanup } = await startPrivateStack({ components: ['kafka'], brokers: 3 });
    try {
      const clients = kafkaFor(stack.kafkaBrokers);
      const admin = clients.admin();
      await admin.connect();
      expect(await admin.brokerCount()).toBe(3);
      const topic = uniqueName('stack_rf3');
      // No replication factor given: the cluster default must be 3.
      await admin.ensureTopics([{ topic, partitions: 3, replicationFactor: -1 }]);
      const partitions = await admin.describeTopic(topic);
      expect(partitions.map((p) => p.replicas)).toEqual([
        [1, 2, 3],
        [1, 2, 3],
        [1, 2, 3],
      ]);
      await admin.disconnect();

      // A controlled shutdown: leadership moves to the other two brokers before kafka-2 exits.
      // (Crashes under load are the fault-injection suite's subject.)
      expect(await stack.stop('kafka-2')).toBe('stopped');
      const producer = clients.producer();
      await producer.connect();
      // acks=all with min.insync.replicas=2 still succeeds with two of three brokers.
      const records = await producer.send([
        { topic, messages: [{ key: 'INC-1', value: 'still accepted' }] },
      ]);
      await producer.disconnect();
      expect(records).toHaveLength(1);
      // Back with its data: start() waits until all three brokers are registered again.
      await stack.start('kafka-2');
      expect((await stack.status()).every((component) => component.running)).toBe(true);
    } finally {
      await cleanup();
    }
  });
});
