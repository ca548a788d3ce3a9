import { type EventOutput, openEventOutput } from '@bluelight/event-output';
import type { BluelightEvent } from '@bluelight/schemas';
import { testLogger } from '../harness/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export type Transport = 'gateway' | 'kafka';

export interface LoadStats {
  transport: Transport;
  /** Events sent, counting every resend (and the feed's own repeats). */
  sent: number;
  /** Sends that were made again: a 503, a lost connection, a Kafka error. */
  resends: number;
  /** Why sends were made again, by reason. */
  resendReasons: Record<string, number>;
  /** Event ids the gateway reported accepted (or duplicate of an accepted one); gateway only. */
  accepted: Set<string>;
  durationMs: number;
  /** Requests in flight now (so a fault can be aimed at one). */
  inFlight: number;
}

/** A send that cannot succeed by being repeated (a refused event, a bad key): the run is broken. */
class LoadError extends Error {}

export interface Sender {
  send(events: BluelightEvent[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Posts to the gateway as a careful producer does: until a 200 says every event is accepted,
 * the same events are sent again after a 503, a 429, a 5xx or a lost connection (the gateway
 * and the sink remove the duplicates this makes).
 */
export function gatewaySender(url: string, apiKey: string, stats: LoadStats): Sender {
  const endpoint = new URL('/v1/events', url).toString();
  return {
    async send(events) {
      for (let attempt = 1; ; attempt += 1) {
        if (attempt > 1) stats.resends += 1;
        stats.sent += events.length;
        let reason: string;
        stats.inFlight += 1;
        try {
          const response = await fetch(endpoint, {
            method: 'POST',
            headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
            body: JSON.stringify(events),
            signal: AbortSignal.timeout(20_000),
          });
          const text = await response.text();
          if (response.status === 200) {
            const result = JSON.parse(text) as {
              accepted: { event_id: string }[];
              rejected: { index: number; errors: unknown[] }[];
            };
            if (result.rejected.length > 0) {
              throw new LoadError(
                `the gateway refused ${result.rejected.length} events: ${JSON.stringify(result.rejected.slice(0, 3))}`,
              );
            }
            for (const item of result.accepted) stats.accepted.add(item.event_id);
            return;
          }
          if (response.status !== 503 && response.status !== 429 && response.status < 500) {
            throw new LoadError(`the gateway answered ${response.status}: ${text.slice(0, 300)}`);
          }
          reason = `http ${response.status}`;
        } catch (error) {
          if (error instanceof LoadError) throw error;
          const cause = (error as { cause?: { code?: string } }).cause;
          reason = cause?.code ?? (error as Error).name ?? 'error';
        } finally {
          stats.inFlight -= 1;
        }
        stats.resendReasons[reason] = (stats.resendReasons[reason] ?? 0) + 1;
        await sleep(200 + Math.random() * 600);
      }
    },
    async close() {},
  };
}

/**
 * Writes straight to Kafka with the event-output package (idempotent producer, acks=all). A
 * failed write is made again with the same events; after repeated failures the producer is
 * opened anew.
 */
export async function kafkaSender(
  brokers: string[],
  topicPrefix: string,
  stats: LoadStats,
): Promise<Sender> {
  const open = () =>
    openEventOutput({ kind: 'kafka', brokers, topicPrefix }, testLogger('fault-producer'));
  let output: EventOutput = await open();
  return {
    async send(events) {
      let failures = 0;
      for (let attempt = 1; ; attempt += 1) {
        if (attempt > 1) stats.resends += 1;
        stats.sent += events.length;
        try {
          await output.write(events);
          return;
        } catch (error) {
          const reason = (error as Error).name || 'error';
          stats.resendReasons[reason] = (stats.resendReasons[reason] ?? 0) + 1;
          failures += 1;
          if (failures % 3 === 0) {
            await output.close().catch(() => {});
            output = await open().catch(() => output);
          }
          await sleep(300 + Math.random() * 700);
        }
      }
    },
    close: () => output.close(),
  };
}

/**
 * Sends the events in order, in chunks spread evenly over `durationMs` (a continuous stream), one
 * request at a time so each entity's events keep their order. Gives up after `deadlineMs`.
 */
export async function runLoad(options: {
  events: BluelightEvent[];
  sender: Sender;
  durationMs: number;
  chunkSize: number;
  deadlineMs: number;
  stats: LoadStats;
  onProgress?: (sentEvents: number) => void;
}): Promise<void> {
  const { events, chunkSize } = options;
  const chunks = Math.ceil(events.length / chunkSize);
  const started = Date.now();
  for (let index = 0; index < chunks; index += 1) {
    const due = started + (index * options.durationMs) / chunks;
    if (Date.now() < due) await sleep(due - Date.now());
    const chunk = events.slice(index * chunkSize, (index + 1) * chunkSize);
    const send = options.sender.send(chunk);
    const timeout = new Promise<never>((_, reject) => {
      const left = started + options.deadlineMs - Date.now();
      setTimeout(
        () => reject(new LoadError(`the load was not delivered within ${options.deadlineMs} ms`)),
        Math.max(left, 0),
      ).unref();
    });
    await Promise.race([send, timeout]);
    options.onProgress?.((index + 1) * chunkSize);
  }
  options.stats.durationMs = Date.now() - started;
}
