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
import { Admin, ConfigResourceTypes } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { LocalStack, StackConfigurationError } from './stack.js';

const run = promisify(execFile);
const cli = path.resolve(import.meta.dirname, '../../../services/cli/bin/bluelight.mjs');

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

      // The CLI says so, and still prints where the engines are.
      const { stdout } = await run(process.execPath, [
        cli,
        'stack',
        'up',
        '--name',
        stack.layout.name,
      ]);
      expect(stdout).toContain(`stack "${stack.layout.name}" is already running.`);
      expect(stdout).toMatch(new RegExp(`kafka-1 +running \\(pid ${first[0]?.pid}\\)`));
      expect(stdout).toMatch(new RegExp(`clickhouse +running \\(pid ${first[1]?.pid}\\)`));
      expect(stdout).toContain(`export CLICKHOUSE_URL=${stack.clickhouseUrl}`);
      expect((await stack.status()).map((c) => c.pid)).toEqual(first.map((c) => c.pid));

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

  it('runs a three-broker cluster with replication factor 3 and min.insync.replicas 2 that keeps accepting writes with a broker down', async () => {
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

      // min.insync.replicas as the brokers report it (describeConfigs shows the effective value,
      // including the broker default a topic inherits): 2, so acks=all needs two replicas.
      const raw = new Admin({ clientId: 'stack-test', bootstrapBrokers: stack.kafkaBrokers });
      try {
        const resources = await raw.describeConfigs({
          includeSynonyms: false,
          resources: [
            {
              resourceType: ConfigResourceTypes.TOPIC,
              resourceName: topic,
              configurationKeys: ['min.insync.replicas'],
            },
            ...['1', '2', '3'].map((name) => ({
              resourceType: ConfigResourceTypes.BROKER,
              resourceName: name,
              configurationKeys: ['min.insync.replicas'],
            })),
          ],
        });
        const minIsr = Object.fromEntries(
          resources.map((resource) => [
            resource.resourceName,
            resource.configs.find((entry) => entry.name === 'min.insync.replicas')?.value,
          ]),
        );
        expect(minIsr).toEqual({ [topic]: '2', '1': '2', '2': '2', '3': '2' });
      } finally {
        await raw.close();
      }

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
