import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { freePort, LocalStack, localHome, portIsFree, processAlive } from '@bluelight/local-stack';

/** Where the tests' Kafka and ClickHouse are, and which of the three ways they were found. */
export interface TestEndpoints {
  mode: 'environment' | 'testcontainers' | 'local-stack';
  /** The pid of the process that started the test run; private stacks are named after it. */
  runId: number;
  kafkaBrokers: string[];
  clickhouseUrl: string;
  clickhouseUser: string;
  clickhousePassword: string;
}

export interface ResolvedEndpoints {
  endpoints: TestEndpoints;
  teardown: () => Promise<void>;
}

const say = (line: string) => process.stdout.write(`[test stack] ${line}\n`);

/** A Docker daemon is worth asking only when a socket or DOCKER_HOST says one may be there. */
function dockerMayAnswer(): boolean {
  return Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
}

/** Several distinct free ports (the OS could hand the same one out twice in a row). */
export async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** A run of `count` consecutive free ports (brokers 1…n listen on consecutive ports). */
async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: count }, (_, index) => base + index);
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  throw new Error(`found no ${count} consecutive free ports`);
}

/**
 * Free ports for a local stack of `brokers` brokers: a run for the brokers' listeners, another
 * for their controllers (not overlapping it), and one for ClickHouse.
 */
export async function freeStackPorts(
  brokers: number,
): Promise<{ kafkaPort: number; controllerPort: number; clickhousePort: number }> {
  const kafkaPort = await freePortRun(brokers);
  let controllerPort = await freePortRun(brokers);
  while (Math.abs(controllerPort - kafkaPort) < brokers) {
    controllerPort = await freePortRun(brokers);
  }
  const [clickhousePort] = (await distinctFreePorts(1)) as [number];
  return { kafkaPort, controllerPort, clickhousePort };
}

async function fromTestcontainers(): Promise<ResolvedEndpoints> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const { ClickHouseContainer } = await import('@testcontainers/clickhouse');
  // A fixed host port lets the broker advertise an address the tests can reach.
  const [kafkaPort] = await distinctFreePorts(1);
  say(`starting apache/kafka:4.4.0 and clickhouse/clickhouse-server:25.8 with testcontainers`);
  const kafka = await new GenericContainer('apache/kafka:4.4.0')
    .withExposedPorts({ container: 9092, host: kafkaPort as number })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://localhost:${kafkaPort}`,
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  const clickhouse = await new ClickHouseContainer('clickhouse/clickhouse-server:25.8').start();
  return {
    endpoints: {
      mode: 'testcontainers',
      runId: testRunId(),
      kafkaBrokers: [`localhost:${kafkaPort}`],
      clickhouseUrl: clickhouse.getHttpUrl(),
      clickhouseUser: clickhouse.getUsername(),
      clickhousePassword: clickhouse.getPassword(),
    },
    teardown: async () => {
      await Promise.all([kafka.stop(), clickhouse.stop()]);
    },
  };
}

/**
 * Test stacks carry the pid of the test run that made them (`test-<pid>`, `t-<pid>-<random>`),
 * so two runs on one machine never touch each other's engines, and a run can tell the leftovers
 * of an interrupted run (whose process is gone) from a stack in use.
 */
function testRunId(): number {
  return process.pid;
}

function ownerOfTestStack(name: string): number | undefined {
  const match = /^(?:test|t)-(\d+)(?:-|$)/.exec(name);
  return match ? Number(match[1]) : undefined;
}

async function removeLeftoverTestStacks(): Promise<void> {
  const stacksDir = path.join(localHome(), 'stacks');
  if (!existsSync(stacksDir)) return;
  for (const name of readdirSync(stacksDir)) {
    const owner = ownerOfTestStack(name);
    if (owner === undefined || processAlive(owner)) continue;
    say(`removing ${name}, left by an interrupted test run`);
    await (await LocalStack.open({ name })).reset(() => {});
  }
}

async function fromLocalStack(): Promise<ResolvedEndpoints> {
  await removeLeftoverTestStacks();
  const [kafkaPort, controllerPort, clickhousePort] = await distinctFreePorts(3);
  const stack = await LocalStack.open({
    name: `test-${testRunId()}`,
    kafkaPort,
    controllerPort,
    clickhousePort,
  });
  const started = Date.now();
  await stack.up(say);
  say(`up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return {
    endpoints: {
      mode: 'local-stack',
      runId: testRunId(),
      kafkaBrokers: stack.kafkaBrokers,
      clickhouseUrl: stack.clickhouseUrl,
      clickhouseUser: 'default',
      clickhousePassword: '',
    },
    teardown: () => stack.reset(() => {}),
  };
}

/** What resolveEndpoints consults; injectable so the selection order can be unit-tested. */
export interface EndpointSources {
  env: NodeJS.ProcessEnv;
  dockerMayAnswer: () => boolean;
  fromTestcontainers: () => Promise<ResolvedEndpoints>;
  fromLocalStack: () => Promise<ResolvedEndpoints>;
}

/**
 * In order: URLs from the environment (a team's real cluster), then testcontainers when a Docker
 * daemon answers, then the local stack (the real engines run as local processes). Only one of
 * KAFKA_BROKERS and CLICKHOUSE_URL set is an error: silently starting engines for both would test
 * something other than what the person asked for.
 */
export async function resolveEndpoints(
  sources: Partial<EndpointSources> = {},
): Promise<ResolvedEndpoints> {
  const env = sources.env ?? process.env;
  const { KAFKA_BROKERS, CLICKHOUSE_URL } = env;
  if (KAFKA_BROKERS && CLICKHOUSE_URL) {
    return {
      endpoints: {
        mode: 'environment',
        runId: testRunId(),
        kafkaBrokers: KAFKA_BROKERS.split(',').map((broker) => broker.trim()),
        clickhouseUrl: CLICKHOUSE_URL,
        clickhouseUser: env.CLICKHOUSE_USER ?? 'default',
        clickhousePassword: env.CLICKHOUSE_PASSWORD ?? '',
      },
      teardown: async () => {},
    };
  }
  if (KAFKA_BROKERS || CLICKHOUSE_URL) {
    const [set, unset] = KAFKA_BROKERS
      ? ['KAFKA_BROKERS', 'CLICKHOUSE_URL']
      : ['CLICKHOUSE_URL', 'KAFKA_BROKERS'];
    throw new Error(
      `${set} is set but ${unset} is not: set both to test against your own engines, or neither to let the tests start them (docs/testing.md)`,
    );
  }
  if ((sources.dockerMayAnswer ?? dockerMayAnswer)()) {
    try {
      return await (sources.fromTestcontainers ?? fromTestcontainers)();
    } catch (error) {
      say(`Docker did not work (${(error as Error).message}); using the local stack instead`);
    }
  }
  return (sources.fromLocalStack ?? fromLocalStack)();
}
