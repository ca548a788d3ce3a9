import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
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
  /**
   * How clients reach the brokers: PLAINTEXT (absent, as stacks made before it), or SASL_SSL —
   * TLS with a certificate from a CA made for the stack, and a SCRAM user (kafkaClientSecurity).
   */
  kafkaSecurity?: KafkaListenerSecurity;
  /** ClickHouse serves HTTPS (a certificate from the stack's CA) instead of HTTP. */
  clickhouseHttps?: boolean;
}

export type KafkaListenerSecurity = 'PLAINTEXT' | 'SASL_SSL';

/** What a client needs to reach a SASL_SSL stack: files, not secrets inline. */
export interface KafkaClientSecurity {
  protocol: 'SASL_SSL';
  /** The stack's own CA, which signed the brokers' certificates. */
  caFile: string;
  /** SCRAM-SHA-512 and SCRAM-SHA-256 users both exist; PLAIN and OAUTHBEARER (unsecured JWS) are enabled too. */
  mechanism: 'SCRAM-SHA-512';
  username: string;
  passwordFile: string;
}

export interface StackOptions {
  name?: string;
  brokers?: 1 | 3;
  kafkaPort?: number;
  controllerPort?: number;
  clickhousePort?: number;
  components?: ComponentKind[];
  kafkaSecurity?: KafkaListenerSecurity;
  clickhouseHttps?: boolean;
}

export interface ComponentStatus {
  id: string;
  kind: ComponentKind;
  running: boolean;
  pid?: number;
  endpoint: string;
  logFile: string;
}

export const DEFAULT_STACK: Required<
  Omit<StackOptions, 'controllerPort' | 'kafkaSecurity' | 'clickhouseHttps'>
> = {
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
      const savedValue = (key: keyof StackOptions & keyof StackLayout) =>
        key === 'kafkaSecurity'
          ? (saved.kafkaSecurity ?? 'PLAINTEXT')
          : key === 'clickhouseHttps'
            ? (saved.clickhouseHttps ?? false)
            : saved[key];
      const conflicts = (
        [
          'brokers',
          'kafkaPort',
          'controllerPort',
          'clickhousePort',
          'kafkaSecurity',
          'clickhouseHttps',
        ] as const
      )
        .filter((key) => options[key] !== undefined && options[key] !== savedValue(key))
        .map((key) => `${key} ${savedValue(key)} (asked for ${options[key]})`);
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
      ...(options.kafkaSecurity === 'SASL_SSL' ? { kafkaSecurity: 'SASL_SSL' as const } : {}),
      ...(options.clickhouseHttps ? { clickhouseHttps: true } : {}),
    };
    return new LocalStack(layout);
  }

  get kafkaBrokers(): string[] {
    return this.brokerIds().map((id) => `127.0.0.1:${this.brokerPort(id)}`);
  }

  /** How to reach a SASL_SSL stack's brokers (undefined for PLAINTEXT). */
  get kafkaClientSecurity(): KafkaClientSecurity | undefined {
    if (this.layout.kafkaSecurity !== 'SASL_SSL') return undefined;
    return {
      protocol: 'SASL_SSL',
      caFile: this.caFile,
      mechanism: 'SCRAM-SHA-512',
      username: KAFKA_CLIENT_USER,
      passwordFile: path.join(this.tlsDir, 'client.password'),
    };
  }

  /** The Bluelight variables that reach this stack's Kafka (docs/security.md), brokers included. */
  kafkaClientEnv(): Record<string, string> {
    const security = this.kafkaClientSecurity;
    return {
      KAFKA_BROKERS: this.kafkaBrokers.join(','),
      ...(security
        ? {
            KAFKA_SECURITY_PROTOCOL: security.protocol,
            KAFKA_SASL_MECHANISM: security.mechanism,
            KAFKA_SASL_USERNAME: security.username,
            KAFKA_SASL_PASSWORD_FILE: security.passwordFile,
            KAFKA_SSL_CA_FILE: security.caFile,
          }
        : {}),
    };
  }

  /**
   * Where ClickHouse's users are read from when it starts, if the file exists:
   * `{"name": {"password": "...", "readonly": 0|1|2}}` (infra/local-stack/clickhouse/server.py).
   * Without it only `default`, without a password.
   */
  get clickhouseUsersFile(): string {
    return path.join(this.componentDir('clickhouse'), 'users.json');
  }

  private get tlsDir(): string {
    return path.join(this.dir, 'tls');
  }

  /** The stack's own CA (SASL_SSL Kafka, HTTPS ClickHouse): what clients are told to trust. */
  get caFile(): string {
    return path.join(this.tlsDir, 'ca.crt');
  }

  get clickhouseUrl(): string {
    const scheme = this.layout.clickhouseHttps ? 'https' : 'http';
    return `${scheme}://127.0.0.1:${this.layout.clickhousePort}`;
  }

  /** CLICKHOUSE_URL, and CLICKHOUSE_CA_FILE when ClickHouse serves HTTPS. */
  clickhouseClientEnv(): Record<string, string> {
    return {
      CLICKHOUSE_URL: this.clickhouseUrl,
      ...(this.layout.clickhouseHttps ? { CLICKHOUSE_CA_FILE: this.caFile } : {}),
    };
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
    const listener = this.layout.kafkaSecurity === 'SASL_SSL' ? 'SASL_SSL' : 'PLAINTEXT';
    const lines = {
      'process.roles': 'broker,controller',
      'node.id': String(id),
      'controller.quorum.voters': voters,
      listeners: `${listener}://127.0.0.1:${this.brokerPort(id)},CONTROLLER://127.0.0.1:${this.controllerPort(id)}`,
      'advertised.listeners': `${listener}://127.0.0.1:${this.brokerPort(id)}`,
      'controller.listener.names': 'CONTROLLER',
      'inter.broker.listener.name': listener,
      'listener.security.protocol.map': `${listener}:${listener},CONTROLLER:PLAINTEXT`,
      ...(listener === 'SASL_SSL' ? this.saslSslProperties() : {}),
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

  /**
   * The SASL_SSL listener: the broker's certificate (signed by the stack's CA) and SCRAM users
   * (made when the storage is formatted); brokers talk to each other the same way. PLAIN and
   * OAUTHBEARER (unsecured tokens, for tests only) are enabled as well. The KRaft controller
   * listener stays PLAINTEXT on 127.0.0.1 (it serves no client requests).
   */
  private saslSslProperties(): Record<string, string> {
    const tls = this.tlsDir;
    const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required';
    return {
      'sasl.enabled.mechanisms': 'SCRAM-SHA-512,SCRAM-SHA-256,PLAIN,OAUTHBEARER',
      'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
      'ssl.keystore.type': 'PEM',
      'ssl.keystore.location': path.join(tls, 'broker.pem'),
      'ssl.truststore.type': 'PEM',
      'ssl.truststore.location': path.join(tls, 'ca.crt'),
      'ssl.endpoint.identification.algorithm': 'https',
      'ssl.client.auth': 'none',
      'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': `${scram} username="${KAFKA_BROKER_USER}" password="${this.secret('broker.password')}";`,
      'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config': `${scram};`,
      'listener.name.sasl_ssl.plain.sasl.jaas.config': `org.apache.kafka.common.security.plain.PlainLoginModule required user_${KAFKA_CLIENT_USER}="${this.secret('client.password')}";`,
      'listener.name.sasl_ssl.oauthbearer.sasl.jaas.config':
        'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="broker";',
    };
  }

  private secret(name: 'broker.password' | 'client.password'): string {
    return readFileSync(path.join(this.tlsDir, name), 'utf8').trim();
  }

  /**
   * A CA and a broker certificate for 127.0.0.1/localhost (openssl), and the SCRAM passwords,
   * made once per stack; kept under the stack's folder, readable by its owner only.
   */
  private ensureTls(report: ProgressReporter): Promise<void> {
    // Brokers and ClickHouse start at once; they share one CA and one certificate.
    this.tlsReady ??= this.makeTls(report);
    return this.tlsReady;
  }

  private tlsReady: Promise<void> | undefined;

  private async makeTls(report: ProgressReporter): Promise<void> {
    const dir = this.tlsDir;
    if (existsSync(path.join(dir, 'broker.pem'))) return;
    report('tls: making a CA, a server certificate for 127.0.0.1 and SCRAM passwords');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = (name: string) => path.join(dir, name);
    await runCommand('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '365',
      '-subj',
      `/CN=Bluelight local stack ${this.layout.name} CA`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.crt'),
    ]);
    await runCommand('openssl', [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-keyout',
      file('broker.key'),
      '-out',
      file('broker.csr'),
    ]);
    await writeFile(
      file('broker.ext'),
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n',
    );
    await runCommand('openssl', [
      'x509',
      '-req',
      '-in',
      file('broker.csr'),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '365',
      '-extfile',
      file('broker.ext'),
      '-out',
      file('broker.crt'),
    ]);
    const [key, cert] = await Promise.all([
      readFile(file('broker.key'), 'utf8'),
      readFile(file('broker.crt'), 'utf8'),
    ]);
    await writeFile(file('broker.pem'), `${key.trim()}\n${cert.trim()}\n`, { mode: 0o600 });
    for (const name of ['broker.password', 'client.password']) {
      await writeFile(file(name), `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
    }
  }

  private async launchBroker(id: number, report: ProgressReporter): Promise<void> {
    const componentId = `kafka-${id}`;
    const dir = this.componentDir(componentId);
    const dataDir = path.join(dir, 'data');
    const propertiesFile = path.join(dir, 'server.properties');
    await this.assertPortsFree(componentId, [this.brokerPort(id), this.controllerPort(id)]);
    await mkdir(dataDir, { recursive: true });
    if (this.layout.kafkaSecurity === 'SASL_SSL') await this.ensureTls(report);
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
        ...(this.layout.kafkaSecurity === 'SASL_SSL' ? this.scramUsers() : []),
      ]);
    }
    report(
      `${componentId}: starting Kafka ${this.layout.kafkaVersion} on 127.0.0.1:${this.brokerPort(id)}`,
    );
    await startDetached(this.process(componentId), 'java', [...jvm, 'kafka.Kafka', propertiesFile]);
  }

  /** SCRAM credentials live in the cluster metadata: KRaft writes them when storage is formatted. */
  private scramUsers(): string[] {
    const broker = this.secret('broker.password');
    const client = this.secret('client.password');
    return [
      '--add-scram',
      `SCRAM-SHA-512=[name=${KAFKA_BROKER_USER},password=${broker}]`,
      '--add-scram',
      `SCRAM-SHA-512=[name=${KAFKA_CLIENT_USER},password=${client}]`,
      '--add-scram',
      `SCRAM-SHA-256=[name=${KAFKA_CLIENT_USER},password=${client}]`,
    ];
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
    const usersFile = this.clickhouseUsersFile;
    if (existsSync(usersFile)) args.push('--users-file', usersFile);
    if (this.layout.clickhouseHttps) {
      await this.ensureTls(report);
      args.push(
        '--tls-cert-file',
        path.join(this.tlsDir, 'broker.crt'),
        '--tls-key-file',
        path.join(this.tlsDir, 'broker.key'),
      );
    }
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
              return await this.clickhousePings();
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

  private readinessClientSecurity() {
    const security = this.kafkaClientSecurity;
    if (!security) return {};
    return {
      tls: { ca: readFileSync(security.caFile, 'utf8') },
      sasl: {
        mechanism: security.mechanism,
        username: security.username,
        password: this.secret('client.password'),
      },
    };
  }

  /** GET /ping answers 200 (over HTTPS trusting only the stack's CA, when it serves HTTPS). */
  private clickhousePings(): Promise<boolean> {
    if (!this.layout.clickhouseHttps) {
      return fetch(`${this.clickhouseUrl}/ping`).then((response) => response.ok);
    }
    return new Promise((resolve, reject) => {
      const ping = httpsRequest(`${this.clickhouseUrl}/ping`, { ca: readFileSync(this.caFile) });
      ping.on('response', (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      });
      ping.on('error', reject);
      ping.end();
    });
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
          ...this.readinessClientSecurity(),
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

const KAFKA_BROKER_USER = 'bluelight-broker';
const KAFKA_CLIENT_USER = 'bluelight';

function brokerNumber(componentId: string): number {
  return Number.parseInt(componentId.replace('kafka-', ''), 10);
}
