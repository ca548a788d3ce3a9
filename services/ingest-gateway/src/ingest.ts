import {
  type BluelightEvent,
  type FieldError,
  partitionKey,
  topicFor,
  validateEvent,
} from '@bluelight/schemas';
import type { EventProducer, TopicMessages } from '@bluelight/service-kit';
import type { AcceptedEventIds } from './accepted-ids.js';
import { authorisationErrors, type SenderKey } from './api-keys.js';
import type { DecodedItem } from './body.js';
import type { GatewayMetrics, RejectionReason } from './metrics.js';

export const KEY_ID_HEADER = 'bluelight.gateway.key_id';

/**
 * Value bytes per send. Kafka refuses a record batch (one partition's share of a send) above
 * message.max.bytes (1 MB by default), so a large request goes out as several sends, one after
 * another so that one entity's events keep their order.
 */
const SEND_CHUNK_BYTES = 512 * 1024;

interface AcceptedItem {
  index: number;
  line?: number;
  event_id: string;
  /** Already acknowledged by Kafka for an earlier request (or earlier in this one): not sent again. */
  duplicate: boolean;
}

export interface RejectedItem {
  index: number;
  line?: number;
  event_id?: string;
  errors: FieldError[];
}

export type IngestOutcome =
  | { kind: 'done'; accepted: AcceptedItem[]; rejected: RejectedItem[] }
  /** Some valid events belong to agencies or sources the key may not write: nothing was sent. */
  | { kind: 'forbidden'; rejected: RejectedItem[] }
  /** Kafka did not acknowledge every new event in time: none is reported accepted. */
  | { kind: 'kafka_unavailable'; message: string };

interface ValidEvent {
  index: number;
  line?: number;
  event: BluelightEvent;
  value: string;
  key: string;
  bytes: number;
}

export interface IngestorOptions {
  producer: EventProducer;
  acceptedIds: AcceptedEventIds;
  metrics: GatewayMetrics;
  topicPrefix: string;
  produceTimeoutMs: number;
  /** The earliest instant an event time may hold (EARLIEST_EVENT_TIME). */
  earliestEventTime: Date;
}

function withLine<T extends object>(item: T, line: number | undefined): T & { line?: number } {
  return line === undefined ? item : { ...item, line };
}

/**
 * Validates a request's events against the contract, checks the key may write them, and sends
 * the new ones to Kafka; resolves only once Kafka acknowledged every event it reports accepted.
 */
export class EventIngestor {
  readonly #options: IngestorOptions;

  constructor(options: IngestorOptions) {
    this.#options = options;
  }

  async ingest(items: DecodedItem[], sender: SenderKey): Promise<IngestOutcome> {
    const { metrics } = this.#options;
    const rejected: { item: RejectedItem; reason: RejectionReason }[] = [];
    const valid: ValidEvent[] = [];
    for (const item of items) {
      const checked = this.#check(item);
      if ('reason' in checked) rejected.push(checked);
      else valid.push(checked);
    }

    const forbidden = valid.flatMap(({ index, line, event }) => {
      const errors = authorisationErrors(sender, event);
      return errors.length === 0
        ? []
        : [withLine({ index, event_id: event.event_id, errors }, line)];
    });
    if (forbidden.length > 0) {
      metrics.events.inc({ outcome: 'rejected', reason: 'forbidden' }, items.length);
      return { kind: 'forbidden', rejected: forbidden };
    }

    // From here to beginProducing nothing awaits, so two requests carrying the same event id
    // cannot both decide it is new.
    const toSend: ValidEvent[] = [];
    const sentEarlier: Promise<boolean>[] = [];
    const inThisRequest = new Set<string>();
    const accepted = valid.map((candidate): AcceptedItem => {
      const { index, line, event } = candidate;
      const id = event.event_id;
      // Identity is (agency, event id): another agency's event with this id is another event.
      const identity = `${event.agency}\u0000${id}`;
      let duplicate = true;
      if (!inThisRequest.has(identity)) {
        inThisRequest.add(identity);
        const known = this.#options.acceptedIds.lookup({ agency: event.agency, eventId: id });
        if (known.state === 'producing') sentEarlier.push(known.acknowledged);
        if (known.state === 'new') {
          toSend.push(candidate);
          duplicate = false;
        }
      }
      return withLine({ index, event_id: id, duplicate }, line);
    });

    const failure = await this.#send(toSend, sender.id);
    const earlierOutcomes = await Promise.all(sentEarlier);
    const message =
      failure ??
      (earlierOutcomes.includes(false)
        ? 'Kafka did not acknowledge an earlier request carrying some of these events'
        : undefined);
    if (message !== undefined) {
      metrics.events.inc({ outcome: 'rejected', reason: 'kafka_unavailable' }, items.length);
      return { kind: 'kafka_unavailable', message };
    }

    for (const { reason } of rejected) metrics.events.inc({ outcome: 'rejected', reason });
    const duplicates = accepted.filter((item) => item.duplicate).length;
    if (duplicates > 0) {
      metrics.events.inc({ outcome: 'duplicate', reason: 'recent_event_id' }, duplicates);
    }
    if (accepted.length > duplicates) {
      metrics.events.inc({ outcome: 'accepted', reason: 'none' }, accepted.length - duplicates);
    }
    return { kind: 'done', accepted, rejected: rejected.map(({ item }) => item) };
  }

  #check(item: DecodedItem): ValidEvent | { item: RejectedItem; reason: RejectionReason } {
    if (!item.ok) {
      const rejection = withLine(
        {
          index: item.index,
          ...(item.eventId === undefined ? {} : { event_id: item.eventId }),
          errors: item.errors,
        },
        item.line,
      );
      return { item: rejection, reason: item.reason };
    }
    const result = validateEvent(item.value, {
      earliestEventTime: this.#options.earliestEventTime,
    });
    if (!result.ok) {
      const rejection = withLine(
        {
          index: item.index,
          ...(result.eventId === undefined ? {} : { event_id: result.eventId }),
          errors: result.errors,
        },
        item.line,
      );
      return { item: rejection, reason: 'contract' };
    }
    // The contract bounds every field, so a valid event is a few KB: far inside Kafka's
    // message limit, and only a request as a whole needs splitting (SEND_CHUNK_BYTES).
    const value = JSON.stringify(result.event);
    return {
      index: item.index,
      line: item.line,
      event: result.event,
      value,
      key: partitionKey(result.event),
      bytes: Buffer.byteLength(value),
    };
  }

  /** Sends the events in chunks, in order; resolves with a failure message, or undefined when all were acknowledged. */
  async #send(events: ValidEvent[], keyId: string): Promise<string | undefined> {
    const chunks = chunkBySize(events, SEND_CHUNK_BYTES);
    const settlers = chunks.map((chunk) =>
      this.#options.acceptedIds.beginProducing(
        chunk.map(({ event }) => ({ agency: event.agency, eventId: event.event_id })),
      ),
    );
    const deadline = Date.now() + this.#options.produceTimeoutMs;
    for (const [position, chunk] of chunks.entries()) {
      const settle = settlers[position] as (acknowledged: boolean) => void;
      const timer = this.#options.metrics.produceSeconds.startTimer();
      try {
        await this.#sendBefore(this.#topicMessages(chunk, keyId), deadline);
        timer({ outcome: 'acknowledged' });
        settle(true);
      } catch (error) {
        timer({ outcome: 'failed' });
        for (const remaining of settlers.slice(position)) remaining(false);
        return error instanceof Error ? error.message : String(error);
      }
    }
    return undefined;
  }

  #topicMessages(events: ValidEvent[], keyId: string): TopicMessages[] {
    const byTopic = new Map<string, TopicMessages>();
    for (const { event, key, value } of events) {
      const topic = `${this.#options.topicPrefix}${topicFor(event.event_type).name}`;
      let batch = byTopic.get(topic);
      if (!batch) {
        batch = { topic, messages: [] };
        byTopic.set(topic, batch);
      }
      batch.messages.push({ key, value, headers: { [KEY_ID_HEADER]: keyId } });
    }
    return [...byTopic.values()];
  }

  async #sendBefore(batches: TopicMessages[], deadline: number): Promise<void> {
    const remainingMs = Math.max(0, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(`Kafka did not acknowledge within ${this.#options.produceTimeoutMs} ms`),
          ),
        remainingMs,
      );
    });
    try {
      // The producer gets the same deadline, so once this request is answered 503 it neither
      // retries nor delivers these events later (the sender will resend them: no duplicate).
      await Promise.race([
        this.#options.producer.send(batches, { timeoutMs: remainingMs }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

function chunkBySize(events: ValidEvent[], maxBytes: number): ValidEvent[][] {
  const chunks: ValidEvent[][] = [];
  let current: ValidEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    if (current.length > 0 && bytes + event.bytes > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(event);
    bytes += event.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
