import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Admin } from '@platformatic/kafka';
import {
  clickhouseServerDir,
  ensureKafkaJars,
  ensurePythonEnv,
  KAFKA_VERSION,
  kafkaLibsDir,
  type ProgressReporter,
  venvPython,
} from './downloads.js';
import { infraLocalDir, stackDir } from './paths.js';
import { portAccepts, portIsFree, waitUntil } from './ports.js';
import { checkPrerequisite, checkVenvPython } from './prerequisites.js';
import {
  killProcess,
  type ManagedProcess,
  runningPid,
  startDetached,
  stopProcess,
  tailFile,
} from './processes.js';
import { runCommand } from './run-command.js';

export type ComponentKind = 'kafka' | 'clickhouse';

/** What a stack is made of; fixed when the stack is first created, kept in stack.json. */
export interface StackLayout {
  name: string;
  brokers: 1 | 3;
  /** Client port of broker 1; broker n listens on kafkaPort + n - 1. */
  kafkaPort: number;
  /** Controller (KRaft quorum) port of broker 1; broker n uses controllerPort + n - 1. */
  controllerPort: number;
  clickhousePort: number;
  components: ComponentKind[];
  /** Kafka cluster id, generated once; every broker's storage is formatted with it. */
  clusterId: string;
  kafkaVersion: string;
}

export interface StackOptions {
  name?: string;
  brokers?: 1 | 3;
  kafkaPort?: number;
  controllerPort?: number;
  clickhousePort?: number;
  components?: ComponentKind[];
}

export interface ComponentStatus {
  id: string;
  kind: ComponentKind;
  running: boolean;
  pid?: number;
  endpoint: string;
  logFile: string;
}

export const DEFAULT_STACK: Required<Omit<StackOptions, 'controllerPort'>> = {
  name: 'default',
  brokers: 1,
  kafkaPort: 9092,
  clickhousePort: 8123,
  components: ['kafka', 'clickhouse'],
};

const KAFKA_STOP_GRACE_MS = 30_000;
const CLICKHOUSE_STOP_GRACE_MS = 15_000;
const KAFKA_START_TIMEOUT_MS = 90_000;
const CLICKHOUSE_START_TIMEOUT_MS = 60_000;

export class StackConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackConfigurationError';
  }
}

/**
 * A KRaft cluster id: 16 random bytes, URL-safe base64 without padding. Like Kafka's own Uuid.randomUuid, it never
 * starts with '-', which kafka-storage's argument parser would read as an option.
 */
export function newClusterId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * A real Kafka (KRaft, 1 or 3 brokers) and a real ClickHouse engine (chDB behind its HTTP
 * interface), run as local processes with data under .local/stacks/<name>.
 */
export class LocalStack {
  readonly layout: StackLayout;
  readonly dir: string;

  private constructor(layout: StackLayout) {
    this.layout = layout;
    this.dir = stackDir(layout.name);
  }

  /**
   * Opens the named stack: its saved layout when it exists, else a new one from the options.
   * Options that contradict a saved layout are an error, since the data was made for that layout.
   */
  static async open(options: StackOptions = {}): Promise<LocalStack> {
    const name = options.name ?? DEFAULT_STACK.name;
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) {
      throw new StackConfigurationError(
        `stack name "${name}" must be lower-case letters, digits and dashes`,
      );
    }
    const layoutFile = path.join(stackDir(name), 'stack.json');
    if (existsSync(layoutFile)) {
      const saved = JSON.parse(await readFile(layoutFile, 'utf8')) as StackLayout;
      const conflicts = (['brokers', 'kafkaPort', 'controllerPort', 'clickhousePort'] as const)
        .filter((key) => options[key] !== undefined && options[key] !== saved[key])
        .map((key) => `${key} ${saved[key]} (asked for ${options[key]})`);
      if (conflicts.length > 0) {
        throw new StackConfigurationError(
          `stack "${name}" was created with ${conflicts.join(', ')}; run \`bluelight stack reset${
            name === 'default' ? '' : ` --name ${name}`
          }\` to delete it and start again, or use another --name`,
        );
      }
      return new LocalStack(saved);
    }
    const kafkaPort = options.kafkaPort ?? DEFAULT_STACK.kafkaPort;
    const layout: StackLayout = {
      name,
      brokers: options.brokers ?? DEFAULT_STACK.brokers,
      kafkaPort,
      controllerPort: options.controllerPort ?? kafkaPort + 1000,
      clickhousePort: options.clickhousePort ?? DEFAULT_STACK.clickhousePort,
      components: options.components ?? DEFAULT_STACK.components,
      clusterId: newClusterId(),
      kafkaVersion: KAFKA_VERSION,
    };
    return new LocalStack(layout);
  }

  get kafkaBrokers(): string[] {
    return this.brokerIds().map((id) => `127.0.0.1:${this.brokerPort(id)}`);
  }

  get clickhouseUrl(): string {
    return `http://127.0.0.1:${this.layout.clickhousePort}`;
  }

  has(kind: ComponentKind): boolean {
    return this.layout.components.includes(kind);
  }

  /** Component ids: kafka-1 … kafka-n, clickhouse. */
  componentIds(): string[] {
    return [
      ...(this.has('kafka') ? this.brokerIds().map((id) => `kafka-${id}`) : []),
      ...(this.has('clickhouse') ? ['clickhouse'] : []),
    ];
  }

  logFile(componentId: string): string {
    return path.join(this.dir, 'logs', `${componentId}.log`);
  }

  /** Downloads what the components need (Kafka jars, the chDB virtualenv); idempotent. */
  async prepare(report: ProgressReporter): Promise<void> {
    if (this.has('kafka')) await ensureKafkaJars(report, this.layout.kafkaVersion);
    if (this.has('clickhouse')) await ensurePythonEnv(report);
  }

  /** Starts whatever is not running and waits until all of it answers. Idempotent. */
  async up(report: ProgressReporter): Promise<{ started: string[]; alreadyRunning: string[] }> {
    await this.prepare(report);
    await mkdir(path.join(this.dir, 'logs'), { recursive: true });
    await writeFile(path.join(this.dir, 'stack.json'), `${JSON.stringify(this.layout, null, 2)}\n`);
    const started: string[] = [];
    const alreadyRunning: string[] = [];
    for (const id of this.componentIds()) {
      if ((await runningPid(this.process(id))) !== undefined) alreadyRunning.push(id);
      else started.push(id);
    }
    await this.checkLaunchPrerequisites(started);
    // Brokers start together: a multi-broker quorum only forms once a majority is up.
    await Promise.all(started.map((id) => this.launch(id, report)));
    await this.waitReady(report);
    return { started, alreadyRunning };
  }

  /** Stops every component (SIGTERM, then SIGKILL after a grace period) and waits for each to exit. */
  async down(report: ProgressReporter): Promise<void> {
    await Promise.all(
      this.componentIds().map(async (id) => {
        const outcome = await this.stop(id);
        report(`${id}: ${outcome}`);
      }),
    );
  }

  /** Stops the stack and deletes all its data and logs. */
  async reset(report: ProgressReporter): Promise<void> {
    await this.down(report);
    await rm(this.dir, { recursive: true, force: true });
    report(`deleted ${this.dir}`);
  }

  async status(): Promise<ComponentStatus[]> {
    return Promise.all(
      this.componentIds().map(async (id) => {
        const pid = await runningPid(this.process(id));
        const kind: ComponentKind = id === 'clickhouse' ? 'clickhouse' : 'kafka';
        return {
          id,
          kind,
          running: pid !== undefined,
          ...(pid !== undefined ? { pid } : {}),
          endpoint:
            kind === 'clickhouse'
              ? this.clickhouseUrl
              : `127.0.0.1:${this.brokerPort(brokerNumber(id))}`,
          logFile: this.logFile(id),
        };
      }),
    );
  }

  /** Starts one stopped component and waits until the stack answers again (fault tests use this). */
  async start(componentId: string, report: ProgressReporter = () => {}): Promise<void> {
    this.assertComponent(componentId);
    if ((await runningPid(this.process(componentId))) === undefined) {
      await this.checkLaunchPrerequisites([componentId]);
      await this.launch(componentId, report);
    }
    await this.waitReady(report);
  }

  /** Stops one component gracefully; `crash: true` kills it with SIGKILL instead. */
  async stop(componentId: string, options: { crash?: boolean } = {}): Promise<string> {
    this.assertComponent(componentId);
    const managed = this.process(componentId);
    if (options.crash) {
      await killProcess(managed);
      return 'killed';
    }
    const grace = componentId === 'clickhouse' ? CLICKHOUSE_STOP_GRACE_MS : KAFKA_STOP_GRACE_MS;
    return stopProcess(managed, grace);
  }

  private assertComponent(componentId: string): void {
    if (!this.componentIds().includes(componentId)) {
      throw new StackConfigurationError(
        `stack "${this.layout.name}" has no component "${componentId}"; it has ${this.componentIds().join(', ')}`,
      );
    }
  }

  private brokerIds(): number[] {
    return Array.from({ length: this.layout.brokers }, (_, index) => index + 1);
  }

  private brokerPort(id: number): number {
    return this.layout.kafkaPort + id - 1;
  }

  private controllerPort(id: number): number {
    return this.layout.controllerPort + id - 1;
  }

  private componentDir(componentId: string): string {
    return path.join(this.dir, componentId);
  }

  private process(componentId: string): ManagedProcess {
    const dir = this.componentDir(componentId);
    return {
      name: componentId,
      pidFile: path.join(this.dir, `${componentId}.pid`),
      logFile: this.logFile(componentId),
      // The data folder appears on the command line of both kinds of process.
      marker:
        componentId === 'clickhouse' ? path.join(dir, 'data') : path.join(dir, 'server.properties'),
    };
  }

  /**
   * prepare() checks the tools only when it has something to download; with everything cached a
   * missing java or a broken venv would otherwise surface as a bare spawn error.
   */
  private async checkLaunchPrerequisites(componentIds: string[]): Promise<void> {
    if (componentIds.some((id) => id !== 'clickhouse')) await checkPrerequisite('java');
    if (componentIds.includes('clickhouse')) checkVenvPython(venvPython());
  }

  private async launch(componentId: string, report: ProgressReporter): Promise<void> {
    if (componentId === 'clickhouse') await this.launchClickHouse(report);
    else await this.launchBroker(brokerNumber(componentId), report);
  }

  private brokerProperties(id: number): string {
    const { brokers } = this.layout;
    const replication = brokers >= 3 ? 3 : 1;
    const minIsr = brokers >= 3 ? 2 : 1;
    const voters = this.brokerIds()
      .map((voter) => `${voter}@127.0.0.1:${this.controllerPort(voter)}`)
      .join(',');
    const lines = {
      'process.roles': 'broker,controller',
      'node.id': String(id),
      'controller.quorum.voters': voters,
      listeners: `PLAINTEXT://127.0.0.1:${this.brokerPort(id)},CONTROLLER://127.0.0.1:${this.controllerPort(id)}`,
      'advertised.listeners': `PLAINTEXT://127.0.0.1:${this.brokerPort(id)}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
      'log.dirs': path.join(this.componentDir(`kafka-${id}`), 'data'),
      // Topics are created on purpose, from the topic registry: a typo must fail, not make a topic.
      'auto.create.topics.enable': 'false',
      'num.partitions': '3',
      'default.replication.factor': String(replication),
      'min.insync.replicas': String(minIsr),
      // Without these a one-broker cluster never finds a group coordinator (the offsets topic
      // would need three replicas).
      'offsets.topic.replication.factor': String(replication),
      'transaction.state.log.replication.factor': String(replication),
      'transaction.state.log.min.isr': String(minIsr),
      'share.coordinator.state.topic.replication.factor': String(replication),
      'share.coordinator.state.topic.min.isr': String(minIsr),
      // Local consumers should not wait 3 s for a first rebalance.
      'group.initial.rebalance.delay.ms': '0',
      'log.retention.hours': '168',
    };
    return `${Object.entries(lines)
      .map(([key, value]) => `${key}=${value}`)
      .join('\n')}\n`;
  }

  private async launchBroker(id: number, report: ProgressReporter): Promise<void> {
    const componentId = `kafka-${id}`;
    const dir = this.componentDir(componentId);
    const dataDir = path.join(dir, 'data');
    const propertiesFile = path.join(dir, 'server.properties');
    await this.assertPortsFree(componentId, [this.brokerPort(id), this.controllerPort(id)]);
    await mkdir(dataDir, { recursive: true });
    await writeFile(propertiesFile, this.brokerProperties(id));
    const classpath = `${kafkaLibsDir(this.layout.kafkaVersion)}/*`;
    const jvm = [
      '-Xms256m',
      '-Xmx1g',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${path.join(infraLocalDir, 'kafka', 'log4j2.yaml')}`,
      '-cp',
      classpath,
    ];
    if (!existsSync(path.join(dataDir, 'meta.properties'))) {
      report(`${componentId}: formatting storage (cluster ${this.layout.clusterId})`);
      await runCommand('java', [
        ...jvm,
        'kafka.tools.StorageTool',
        'format',
        `--cluster-id=${this.layout.clusterId}`,
        '--config',
        propertiesFile,
        '--ignore-formatted',
      ]);
    }
    report(
      `${componentId}: starting Kafka ${this.layout.kafkaVersion} on 127.0.0.1:${this.brokerPort(id)}`,
    );
    await startDetached(this.process(componentId), 'java', [...jvm, 'kafka.Kafka', propertiesFile]);
  }

  private async launchClickHouse(report: ProgressReporter): Promise<void> {
    const dir = this.componentDir('clickhouse');
    const dataDir = path.join(dir, 'data');
    await this.assertPortsFree('clickhouse', [this.layout.clickhousePort]);
    await mkdir(dataDir, { recursive: true });
    report(`clickhouse: starting the ClickHouse engine (chDB) on ${this.clickhouseUrl}`);
    const args = [
      path.join(clickhouseServerDir, 'server.py'),
      '--host',
      '127.0.0.1',
      '--port',
      String(this.layout.clickhousePort),
      '--data-dir',
      dataDir,
    ];
    const usersFile = path.join(dir, 'users.json');
    if (existsSync(usersFile)) args.push('--users-file', usersFile);
    await startDetached(this.process('clickhouse'), venvPython(), args);
  }

  private async assertPortsFree(componentId: string, ports: number[]): Promise<void> {
    for (const port of ports) {
      if (!(await portIsFree(port))) {
        throw new StackConfigurationError(
          `${componentId} cannot start: port ${port} on 127.0.0.1 is in use by another program. ` +
            `Stop it, or create a stack on other ports (e.g. \`bluelight stack up --name alt --kafka-port 19092 --clickhouse-port 18123\`).`,
        );
      }
    }
  }

  private async failedToStart(componentId: string, cause: unknown): Promise<Error> {
    const lines = await tailFile(this.logFile(componentId), 25);
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new Error(
      `${reason}\nlast lines of ${this.logFile(componentId)}:\n${lines.map((line) => `  ${line}`).join('\n')}`,
    );
  }

  /** Waits until ClickHouse answers /ping and every broker is registered with the controller. */
  private async waitReady(report: ProgressReporter): Promise<void> {
    if (this.has('clickhouse')) {
      const managed = this.process('clickhouse');
      try {
        await waitUntil(
          'clickhouse',
          async () => {
            try {
              const response = await fetch(`${this.clickhouseUrl}/ping`);
              return response.ok;
            } catch {
              return false;
            }
          },
          {
            timeoutMs: CLICKHOUSE_START_TIMEOUT_MS,
            stillAlive: async () => (await runningPid(managed)) !== undefined,
          },
        );
      } catch (error) {
        throw await this.failedToStart('clickhouse', error);
      }
      report(`clickhouse: ready at ${this.clickhouseUrl}`);
    }
    if (this.has('kafka')) {
      for (const id of this.brokerIds()) {
        const componentId = `kafka-${id}`;
        const managed = this.process(componentId);
        try {
          await waitUntil(componentId, () => portAccepts(this.brokerPort(id)), {
            timeoutMs: KAFKA_START_TIMEOUT_MS,
            stillAlive: async () => (await runningPid(managed)) !== undefined,
          });
        } catch (error) {
          throw await this.failedToStart(componentId, error);
        }
      }
      await this.waitForBrokersRegistered();
      report(`kafka: ${this.layout.brokers} broker(s) ready at ${this.kafkaBrokers.join(',')}`);
    }
  }

  private async waitForBrokersRegistered(): Promise<void> {
    const expected = this.layout.brokers;
    let seen = 0;
    await waitUntil(
      `kafka (waiting for ${expected} broker(s) to register)`,
      async () => {
        // A new client each time: one that failed against a broker still starting keeps nothing.
        const admin = new Admin({
          clientId: 'bluelight-stack',
          bootstrapBrokers: this.kafkaBrokers,
          retries: 0,
          connectTimeout: 2_000,
          requestTimeout: 5_000,
        });
        try {
          seen = (await admin.metadata({ topics: [], forceUpdate: true })).brokers.size;
          if (seen !== expected) return false;
          // Consumer groups need a group coordinator; asking about a group proves one answers.
          await admin.describeGroups({ groups: ['bluelight-stack-readiness'] });
          return true;
        } catch {
          return false;
        } finally {
          await admin.close().catch(() => {});
        }
      },
      { timeoutMs: KAFKA_START_TIMEOUT_MS, intervalMs: 300 },
    );
  }
}

function brokerNumber(componentId: string): number {
  return Number.parseInt(componentId.replace('kafka-', ''), 10);
}
