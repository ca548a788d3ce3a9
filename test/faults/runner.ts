import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { freePort, type LocalStack } from '@bluelight/local-stack';
import { type BluelightEvent, topics } from '@bluelight/schemas';
import type { KafkaAdmin } from '@bluelight/service-kit';
import { STAFFORDSHIRE_2023_24, simulate } from '@bluelight/simulator';
import {
  consumeMessages,
  kafkaFor,
  migratedDatabase,
  type TestEndpoints,
  uniqueName,
} from '../harness/index.js';
import { type CheckResult, type StoredCounts, type Verification, verify } from './checks.js';
import { FAMILY_NAMES } from './expected.js';
import {
  gatewaySender,
  kafkaSender,
  type LoadStats,
  runLoad,
  type Sender,
  type Transport,
} from './load.js';
import { ServiceProcess, type UnexpectedExit } from './services.js';
import { startFaultStack } from './stack.js';

export const FAULT_KINDS = [
  'sink-kill',
  'gateway-kill',
  'broker-stop',
  'clickhouse-restart',
] as const;
/**
 * The series with two sinks in one consumer group (`--sinks 2`): every fault moves partitions
 * between the two while the load runs — one sink stopped gracefully (it leaves the group) and
 * started again, one SIGKILLed (the group notices when its session expires), a broker stopped
 * or killed (the group coordinator may move with it).
 */
export const TWO_SINK_FAULT_KINDS = ['sink-restart', 'sink-kill', 'broker-stop'] as const;
/** `none` is a control run (the same load and checks, no fault); not in the random choice. */
export type FaultKind =
  | (typeof FAULT_KINDS)[number]
  | (typeof TWO_SINK_FAULT_KINDS)[number]
  | 'none';

export interface RunOptions {
  kind: FaultKind;
  /** Seeds the simulator and every random choice of the run (window, transport, fault timing). */
  seed: number;
  runNumber: number;
  stackName: string;
  /** Where the services' logs go; kept (with the stack's logs) when the run fails. */
  logDir: string;
  /** Simulated days of events (about 2,900 events a day). */
  simulatedDays?: number;
  /** Over how many seconds the events are sent. */
  loadSeconds?: number;
  transport?: Transport;
  /** Sink processes in the one consumer group (the same SINK_GROUP_PREFIX); default 1. */
  sinks?: 1 | 2;
  say?: (line: string) => void;
}

export interface FaultRunResult {
  run: number;
  kind: FaultKind;
  seed: number;
  transport: Transport;
  brokers: 1 | 3;
  /** Sink processes sharing the consumer groups (absent in results from before: 1). */
  sinks?: 1 | 2;
  window: { from: string; to: string };
  fault: {
    atMs: number | null;
    description: string;
    storedAtFault: number | null;
    /** gateway-kill: requests in flight when it was killed. */
    inFlight?: number;
  };
  produced: { events: number; distinct: number };
  stored: StoredCounts | null;
  load: { sent: number; resends: number; resendReasons: Record<string, number> };
  timings: {
    simulateMs: number;
    stackUpMs: number;
    loadMs: number;
    catchUpMs: number | null;
    totalMs: number;
  };
  unexpectedExits: UnexpectedExit[];
  checks: CheckResult[];
  /** Ids missing, doubled or never produced, per family (only when any). */
  ids?: Verification['ids'];
  /** Messages on each event topic at the end (the sum of its end offsets). */
  onKafka?: Record<string, number>;
  /**
   * When events are missing: where they are on Kafka (or that they are not), next to the
   * offsets the sink committed — the evidence that tells a producer-side loss from a sink-side one.
   */
  missingOnKafka?: {
    family: string;
    missing: number;
    foundOnKafka: number;
    /** partition → the offsets of the missing events found there, and the group's committed offset. */
    partitions: Record<string, { offsets: string; committed: string; end: string }>;
  }[];
  passed: boolean;
  /** The run could not be carried out (not a finding about the pipeline). */
  error?: string;
  /** Logs kept for inspection (failed runs). */
  logDir?: string;
}

/** A small seeded generator (mulberry32): a run's choices follow from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const DAY = 86_400_000;
const PROFILE_START = Date.parse('2023-04-03T00:00:00Z');
const CATCH_UP_TIMEOUT_MS = 240_000;

/** Things to stop if the runner is interrupted (Ctrl-C) mid-run. */
const live = new Set<() => Promise<void>>();
export async function stopEverything(): Promise<void> {
  for (const stop of [...live].reverse()) await stop().catch(() => {});
}

async function waitCaughtUp(
  admin: KafkaAdmin,
  prefix: string,
  groupPrefix: string,
  timeoutMs: number,
): Promise<{ caughtUp: boolean; lag: number }> {
  const deadline = Date.now() + timeoutMs;
  let lag = Number.POSITIVE_INFINITY;
  while (Date.now() < deadline) {
    try {
      lag = 0;
      for (const topic of topics) {
        const name = `${prefix}${topic.name}`;
        const ends = await admin.endOffsets(name);
        const committed = new Map(
          (await admin.committedOffsets(`${groupPrefix}-${topic.family}`, name)).map((entry) => [
            entry.partition,
            Math.max(Number(entry.offset), 0),
          ]),
        );
        for (const end of ends)
          lag += Math.max(Number(end.offset) - (committed.get(end.partition) ?? 0), 0);
      }
      if (lag === 0) return { caughtUp: true, lag };
    } catch {
      // a broker is still coming back: ask again
    }
    await sleep(500);
  }
  return { caughtUp: false, lag };
}

async function dlqMessages(admin: KafkaAdmin, prefix: string): Promise<number> {
  let total = 0;
  for (const topic of topics) {
    const offsets = await admin.endOffsets(`${prefix}${topic.deadLetter.name}`).catch(() => []);
    for (const entry of offsets) total += Number(entry.offset);
  }
  return total;
}

/** Reads every event topic once more, to find where the missing events are on Kafka. */
async function locateMissing(
  admin: KafkaAdmin,
  brokers: string[],
  prefix: string,
  groupPrefix: string,
  ids: Verification['ids'],
  onKafka: Record<string, number>,
): Promise<NonNullable<FaultRunResult['missingOnKafka']>> {
  const evidence: NonNullable<FaultRunResult['missingOnKafka']> = [];
  for (const topic of topics) {
    const missing = new Set(ids[topic.family].missing);
    if (missing.size === 0) continue;
    const name = `${prefix}${topic.name}`;
    const messages = await consumeMessages({
      brokers,
      topic: name,
      count: onKafka[topic.family] ?? 0,
      timeoutMs: 60_000,
    }).catch(() => []);
    const found = new Map<number, number[]>();
    let foundOnKafka = 0;
    for (const message of messages) {
      const id = (JSON.parse(String(message.value)) as { event_id: string }).event_id;
      if (!missing.has(id)) continue;
      foundOnKafka += 1;
      found.set(message.partition, [
        ...(found.get(message.partition) ?? []),
        Number(message.offset),
      ]);
    }
    const committed = await admin.committedOffsets(`${groupPrefix}-${topic.family}`, name);
    const ends = await admin.endOffsets(name);
    const partitions: Record<string, { offsets: string; committed: string; end: string }> = {};
    for (const end of ends) {
      const offsets = (found.get(end.partition) ?? []).sort((a, b) => a - b);
      const ranges: string[] = [];
      for (const offset of offsets) {
        const last = ranges.at(-1);
        const match = last ? /^(\d+)(?:-(\d+))?$/.exec(last) : null;
        const upper = match ? Number(match[2] ?? match[1]) : Number.NaN;
        if (match && offset === upper + 1) ranges[ranges.length - 1] = `${match[1]}-${offset}`;
        else ranges.push(String(offset));
      }
      partitions[String(end.partition)] = {
        offsets: ranges.join(',') || '-',
        committed: committed.find((entry) => entry.partition === end.partition)?.offset ?? '?',
        end: end.offset,
      };
    }
    evidence.push({ family: topic.family, missing: missing.size, foundOnKafka, partitions });
  }
  return evidence;
}

async function storedNow(endpoints: TestEndpoints, database: string): Promise<number | null> {
  try {
    const response = await fetch(
      `${endpoints.clickhouseUrl}/?database=${database}&query=${encodeURIComponent(
        'SELECT (SELECT uniqExact(event_id) FROM calls_raw) + (SELECT uniqExact(event_id) FROM incidents_raw) + (SELECT uniqExact(event_id) FROM resources_raw)',
      )}`,
      { signal: AbortSignal.timeout(5_000) },
    );
    return response.ok ? Number((await response.text()).trim()) : null;
  } catch {
    return null;
  }
}

/** One fault-injection run: fresh stack, real services, a stream of events, one fault, checks. */
export async function runFaultRun(options: RunOptions): Promise<FaultRunResult> {
  const started = Date.now();
  const random = seededRandom(options.seed);
  const say = options.say ?? (() => {});
  mkdirSync(options.logDir, { recursive: true });
  const runLog = path.join(options.logDir, 'run.log');
  const note = (line: string) => {
    appendFileSync(
      runLog,
      `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}\n`,
    );
    say(line);
  };
  const { kind } = options;
  const sinkCount = options.sinks ?? 1;
  const brokers: 1 | 3 = kind === 'broker-stop' ? 3 : 1;
  const transport: Transport =
    options.transport ??
    (kind === 'gateway-kill' ? 'gateway' : random() < 0.5 ? 'gateway' : 'kafka');
  const days = options.simulatedDays ?? 2;
  const loadMs = (options.loadSeconds ?? 20) * 1000;
  const fromMs = PROFILE_START + Math.floor(random() * 355) * DAY;
  const toMs = fromMs + days * DAY;

  const result: FaultRunResult = {
    run: options.runNumber,
    kind,
    seed: options.seed,
    transport,
    brokers,
    sinks: sinkCount,
    window: { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() },
    fault: { atMs: null, description: 'none', storedAtFault: null },
    produced: { events: 0, distinct: 0 },
    stored: null,
    load: { sent: 0, resends: 0, resendReasons: {} },
    timings: { simulateMs: 0, stackUpMs: 0, loadMs: 0, catchUpMs: null, totalMs: 0 },
    unexpectedExits: [],
    checks: [],
    passed: false,
  };

  // The events first (CPU only), so the stack is not kept waiting.
  const events: BluelightEvent[] = [];
  for (const { emissions } of simulate({
    profile: STAFFORDSHIRE_2023_24,
    seed: options.seed,
    fromMs,
    toMs,
  })) {
    for (const emission of emissions) events.push(emission.event as unknown as BluelightEvent);
  }
  result.produced = {
    events: events.length,
    distinct: new Set(events.map((e) => e.event_id)).size,
  };
  result.timings.simulateMs = Date.now() - started;
  note(
    `${kind}: ${events.length} events (${result.produced.distinct} distinct) for ${result.window.from.slice(0, 10)} + ${days} d, seed ${options.seed}, via ${transport}, ${brokers} broker(s)`,
  );

  let stack: LocalStack | undefined;
  const services: ServiceProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const service of services) service.killNow();
    while (cleanups.length > 0)
      await cleanups
        .pop()?.()
        .catch(() => {});
    await stack?.reset(() => {}).catch(() => {});
  };
  live.add(stopAll);
  try {
    const upStarted = Date.now();
    stack = await startFaultStack({ brokers, name: options.stackName });
    result.timings.stackUpMs = Date.now() - upStarted;
    note(`stack ${stack.layout.name} up in ${(result.timings.stackUpMs / 1000).toFixed(1)} s`);
    const endpoints: TestEndpoints = {
      mode: 'local-stack',
      runId: process.pid,
      kafkaBrokers: stack.kafkaBrokers,
      clickhouseUrl: stack.clickhouseUrl,
      clickhouseUser: 'default',
      clickhousePassword: '',
    };
    const db = await migratedDatabase('faults', endpoints);
    cleanups.push(() => db.client.close());
    const prefix = `${uniqueName('f')}.`;
    const groupPrefix = uniqueName('sink');
    const admin = kafkaFor(stack.kafkaBrokers, 'fault-runner').admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    await admin.ensureTopics(
      topics.map((topic) => ({
        topic: `${prefix}${topic.name}`,
        partitions: topic.partitions,
        replicationFactor: -1,
        config: { 'retention.ms': String(topic.retentionMs) },
      })),
    );

    // One or two sink processes; two share the consumer groups (the same SINK_GROUP_PREFIX), so
    // the family topics' partitions are split between them and move when one goes away.
    const sinks: ServiceProcess[] = [];
    for (let index = 1; index <= sinkCount; index += 1) {
      const sinkPort = await freePort();
      const name = sinkCount === 1 ? 'sink' : `sink-${index}`;
      const sink = new ServiceProcess(
        name,
        'clickhouse-sink/src/main.ts',
        {
          KAFKA_BROKERS: stack.kafkaBrokers.join(','),
          CLICKHOUSE_URL: stack.clickhouseUrl,
          CLICKHOUSE_USER: 'default',
          CLICKHOUSE_PASSWORD: '',
          CLICKHOUSE_DATABASE: db.database,
          KAFKA_TOPIC_PREFIX: prefix,
          SINK_GROUP_PREFIX: groupPrefix,
          SINK_PORT: String(sinkPort),
          // Small fetches: many batches, so a fault lands in the middle of the work.
          SINK_FETCH_MAX_BYTES_PER_PARTITION: '65536',
          SINK_RETRY_MAX_MS: '2000',
          LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'info',
        },
        path.join(options.logDir, `${name}.log`),
        `http://127.0.0.1:${sinkPort}/readyz`,
        started,
      );
      services.push(sink);
      sinks.push(sink);
    }
    // Started together: each joins the groups while the other is joining or has joined.
    await Promise.all(sinks.map((sink) => sink.start()));
    note(`${sinks.map((sink) => `${sink.name} pid ${sink.pid}`).join(', ')} ready`);

    const stats: LoadStats = {
      transport,
      sent: 0,
      resends: 0,
      resendReasons: {},
      accepted: new Set(),
      durationMs: 0,
      inFlight: 0,
    };
    let gateway: ServiceProcess | undefined;
    let sender: Sender;
    if (transport === 'gateway') {
      const key = `blk_${randomBytes(32).toString('base64url')}`;
      const gatewayPort = await freePort();
      gateway = new ServiceProcess(
        'gateway',
        'ingest-gateway/src/main.ts',
        {
          KAFKA_BROKERS: stack.kafkaBrokers.join(','),
          KAFKA_TOPIC_PREFIX: prefix,
          GATEWAY_PORT: String(gatewayPort),
          GATEWAY_API_KEYS: JSON.stringify([
            {
              id: 'fault-runner',
              key_sha256: createHash('sha256').update(key).digest('hex'),
              agencies: Object.values(STAFFORDSHIRE_2023_24.agencies),
              sources: Object.values(STAFFORDSHIRE_2023_24.sources),
            },
          ]),
          GATEWAY_PRODUCE_TIMEOUT_MS: '5000',
          GATEWAY_RATE_LIMIT_EVENTS_PER_SECOND: '100000',
          GATEWAY_RATE_LIMIT_BURST: '100000',
          LOG_LEVEL: process.env.FAULTS_LOG_LEVEL ?? 'info',
        },
        path.join(options.logDir, 'gateway.log'),
        `http://127.0.0.1:${gatewayPort}/readyz`,
        started,
      );
      services.push(gateway);
      await gateway.start();
      note(`gateway pid ${gateway.pid} ready on port ${gatewayPort}`);
      sender = gatewaySender(`http://127.0.0.1:${gatewayPort}`, key, stats);
    } else {
      sender = await kafkaSender(stack.kafkaBrokers, prefix, stats);
    }
    cleanups.push(() => sender.close());

    // The fault: at a random moment while the events stream in.
    const faultAt = Math.round(loadMs * (0.15 + 0.5 * random()));
    const downMs = Math.round(
      kind === 'broker-stop' ? 3_000 + random() * 7_000 : 500 + random() * 7_500,
    );
    const crash = random() < 0.5;
    const brokerId = 1 + Math.floor(random() * 3);
    const targetSink = sinks[Math.floor(random() * sinks.length)] as ServiceProcess;
    const loadStarted = Date.now();
    const faultDone = (async () => {
      if (kind === 'none') return;
      await sleep(faultAt);
      result.fault.atMs = Date.now() - loadStarted;
      result.fault.storedAtFault = await storedNow(endpoints, db.database);
      const t0 = Date.now();
      const target = stack as LocalStack;
      if (kind === 'sink-kill') {
        await targetSink.kill9();
        await sleep(downMs);
        await targetSink.start();
        result.fault.description = `SIGKILL ${targetSink.name}, restarted after ${(downMs / 1000).toFixed(1)} s, ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the kill`;
      } else if (kind === 'sink-restart') {
        // SIGTERM: the sink finishes and commits the batches in hand and leaves the groups.
        await targetSink.stop();
        const stoppedIn = Date.now() - t0;
        await sleep(downMs);
        await targetSink.start();
        result.fault.description = `SIGTERM ${targetSink.name} (exited in ${(stoppedIn / 1000).toFixed(1)} s), started again after ${(downMs / 1000).toFixed(1)} s, ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the stop`;
      } else if (kind === 'gateway-kill') {
        // Aimed at a request in hand: its events may be on Kafka without the producer knowing.
        const aimUntil = Date.now() + 3_000;
        while (stats.inFlight === 0 && Date.now() < aimUntil) await sleep(2);
        if (stats.inFlight > 0) await sleep(random() * 40);
        result.fault.inFlight = stats.inFlight;
        await (gateway as ServiceProcess).kill9();
        await sleep(downMs);
        await (gateway as ServiceProcess).start();
        result.fault.description = `SIGKILL gateway (${result.fault.inFlight} request(s) in flight), restarted after ${(downMs / 1000).toFixed(1)} s, ready ${((Date.now() - t0) / 1000).toFixed(1)} s after the kill`;
      } else if (kind === 'broker-stop') {
        const how = await target.stop(`kafka-${brokerId}`, { crash });
        const stoppedIn = Date.now() - t0;
        await sleep(downMs);
        await target.start(`kafka-${brokerId}`);
        result.fault.description = `${crash ? 'SIGKILL' : 'graceful stop'} of kafka-${brokerId} (${how} in ${(stoppedIn / 1000).toFixed(1)} s), down ${(downMs / 1000).toFixed(1)} s, cluster whole again ${((Date.now() - t0) / 1000).toFixed(1)} s after the fault`;
      } else {
        const how = await target.stop('clickhouse', { crash });
        const stoppedIn = Date.now() - t0;
        await sleep(downMs);
        await target.start('clickhouse');
        result.fault.description = `${crash ? 'SIGKILL' : 'graceful stop'} of ClickHouse (${how} in ${(stoppedIn / 1000).toFixed(1)} s), down ${(downMs / 1000).toFixed(1)} s, answering again ${((Date.now() - t0) / 1000).toFixed(1)} s after the fault`;
      }
      note(
        `fault at ${(result.fault.atMs / 1000).toFixed(1)} s (${result.fault.storedAtFault ?? '?'} events stored by then): ${result.fault.description}`,
      );
    })();
    // A failed fault must not leave the load running unobserved (and vice versa).
    const outcome = await Promise.allSettled([
      runLoad({
        events,
        sender,
        durationMs: loadMs,
        chunkSize: 250,
        deadlineMs: loadMs + 180_000,
        stats,
      }),
      faultDone,
    ]);
    result.load = { sent: stats.sent, resends: stats.resends, resendReasons: stats.resendReasons };
    result.timings.loadMs = stats.durationMs || Date.now() - loadStarted;
    for (const settled of outcome) if (settled.status === 'rejected') throw settled.reason;
    note(
      `load done in ${(result.timings.loadMs / 1000).toFixed(1)} s: ${stats.sent} events sent, ${stats.resends} resends ${JSON.stringify(stats.resendReasons)}`,
    );
    if (transport === 'gateway') {
      const distinct = new Set(events.map((event) => event.event_id));
      const notAccepted = [...distinct].filter((id) => !stats.accepted.has(id));
      if (notAccepted.length > 0)
        throw new Error(`the gateway never accepted ${notAccepted.length} events`);
    }

    const catchUpStarted = Date.now();
    const caught = await waitCaughtUp(admin, prefix, groupPrefix, CATCH_UP_TIMEOUT_MS);
    if (caught.caughtUp) {
      result.timings.catchUpMs = Date.now() - catchUpStarted;
      note(
        `sink committed to the end offsets ${(result.timings.catchUpMs / 1000).toFixed(1)} s after the load`,
      );
    } else {
      note(
        `the sink did not commit to the end offsets within ${CATCH_UP_TIMEOUT_MS / 1000} s (lag ${caught.lag})`,
      );
    }

    const verification = await verify({
      client: db.client,
      produced: events,
      toMs,
      dlqMessages: await dlqMessages(admin, prefix),
    });
    result.stored = verification.stored;
    result.checks = verification.checks;
    result.checks.unshift({
      name: 'caught-up',
      passed: caught.caughtUp,
      problems: caught.caughtUp
        ? []
        : [
            `the sink never committed to the end offsets (lag ${caught.lag} messages after ${CATCH_UP_TIMEOUT_MS / 1000} s)`,
          ],
    });
    result.unexpectedExits = services.flatMap((service) => service.unexpectedExits);
    result.checks.push({
      name: 'services-stayed-up',
      passed: result.unexpectedExits.length === 0,
      problems: result.unexpectedExits.map(
        (exit) =>
          `${exit.service} exited by itself at ${(exit.atMs / 1000).toFixed(1)} s (code ${exit.code}, signal ${exit.signal})`,
      ),
    });
    result.onKafka = {};
    for (const topic of topics) {
      const ends = await admin.endOffsets(`${prefix}${topic.name}`);
      result.onKafka[topic.family] = ends.reduce((sum, entry) => sum + Number(entry.offset), 0);
    }
    note(`on Kafka: ${JSON.stringify(result.onKafka)}`);
    if (FAMILY_NAMES.some((family) => verification.ids[family].missing.length > 0)) {
      result.missingOnKafka = await locateMissing(
        admin,
        stack.kafkaBrokers,
        prefix,
        groupPrefix,
        verification.ids,
        result.onKafka,
      );
      note(`missing events on Kafka: ${JSON.stringify(result.missingOnKafka)}`);
    }
    const anyIds = FAMILY_NAMES.some((family) => {
      const ids = verification.ids[family];
      return ids.missing.length + ids.doubled.length + ids.unexpected.length > 0;
    });
    if (anyIds) result.ids = verification.ids;
    result.passed = result.checks.every((check) => check.passed);
  } catch (error) {
    result.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
    result.unexpectedExits = services.flatMap((service) => service.unexpectedExits);
    note(`run broken: ${result.error}`);
  } finally {
    for (const service of services) await service.stop().catch(() => {});
    if (!result.passed && stack && existsSync(path.join(stack.dir, 'logs'))) {
      cpSync(path.join(stack.dir, 'logs'), path.join(options.logDir, 'stack-logs'), {
        recursive: true,
      });
      result.logDir = options.logDir;
    }
    await stopAll();
    live.delete(stopAll);
    if (result.passed) rmSync(options.logDir, { recursive: true, force: true });
    result.timings.totalMs = Date.now() - started;
  }
  return result;
}
