import { PassThrough } from 'node:stream';
import { invalidExamples, validExamples } from '@bluelight/schemas';
import {
  createLogger,
  type EventProducer,
  loadConfig,
  type ProducedRecord,
  type TopicMessages,
} from '@bluelight/service-kit';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from './app.js';
import { gatewayConfigSchema } from './config.js';
import { TEST_KEYS, testSenderKeys, withNewId } from './testing/events.js';

/** Stands in for Kafka at the EventProducer interface: records each send; a test can hold or fail sends. */
class RecordingProducer implements EventProducer {
  readonly sends: TopicMessages[][] = [];
  /** When set, each send waits for it before answering. */
  gate: Promise<void> | undefined;
  failWith: Error | undefined;

  async connect() {}
  async disconnect() {}

  async send(batches: TopicMessages[]): Promise<ProducedRecord[]> {
    await this.gate;
    if (this.failWith) throw this.failWith;
    this.sends.push(batches);
    return [];
  }

  messages() {
    return this.sends.flat().flatMap((batch) =>
      batch.messages.map((message) => ({
        topic: batch.topic,
        key: message.key,
        event: JSON.parse(String(message.value)) as { event_id: string },
        headers: message.headers,
      })),
    );
  }
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function gateway(env: Record<string, string> = {}) {
  const producer = new RecordingProducer();
  const logLines = new PassThrough();
  let logText = '';
  logLines.on('data', (chunk) => {
    logText += String(chunk);
  });
  const config = loadConfig(gatewayConfigSchema, {
    GATEWAY_API_KEYS: JSON.stringify(testSenderKeys()),
    KAFKA_TOPIC_PREFIX: 'unit.',
    ...env,
  });
  const app = await buildApp({
    config,
    producer,
    logger: createLogger({ service: 'ingest-gateway', level: 'info', destination: logLines }),
  });
  apps.push(app);
  const post = (body: string | Buffer, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: '/v1/events', payload: body, headers });
  const postEvents = (events: unknown[], key: string = TEST_KEYS.staffs) =>
    post(JSON.stringify(events), {
      'content-type': 'application/json',
      authorization: `Bearer ${key}`,
    });
  return { app, producer, post, postEvents, logs: () => logText };
}

const example = (eventType: string, name: string) => {
  const found = validExamples().find((e) => e.eventType === eventType && e.name === name);
  if (!found) throw new Error(`no example ${eventType}/${name}`);
  return found.event as Record<string, unknown>;
};

describe('authentication and authorisation', () => {
  it('answers 401 without a key or with a wrong one, naming how to send it', async () => {
    const { post, producer } = await gateway();
    const events = JSON.stringify([withNewId(example('call.presented', '999-fire'))]);
    const missing = await post(events, { 'content-type': 'application/json' });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="bluelight"');
    expect(missing.json()).toEqual({
      error: 'unauthenticated',
      message: 'no API key: send it as Authorization: Bearer <key> or X-API-Key: <key>',
    });
    const wrong = await post(events, { 'content-type': 'application/json', 'x-api-key': 'nope' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toEqual({
      error: 'unauthenticated',
      message: 'the API key is not recognised',
    });
    expect(producer.sends).toEqual([]);
  });

  it('answers 403 naming every event of another agency, and sends nothing from the request', async () => {
    const { postEvents, producer } = await gateway();
    const police = withNewId(example('incident.created', 'police-emergency-rural'));
    const fire = withNewId(example('incident.created', 'primary-dwelling-fire'));
    const response = await postEvents([police, fire], TEST_KEYS.police);
    expect(response.statusCode).toBe(403);
    expect(response.json()).toEqual({
      error: 'forbidden',
      message:
        'key "police-cad" may not write 1 of these events (see rejected); nothing from this request was accepted',
      rejected: [
        {
          index: 1,
          event_id: fire.event_id,
          errors: [
            {
              path: 'agency',
              message: 'key "police-cad" may not write events for agency "staffordshire-fire"',
            },
            {
              path: 'source',
              message: 'key "police-cad" may not write events from source "sfrs-cad"',
            },
          ],
        },
      ],
    });
    expect(producer.sends).toEqual([]);
  });

  it('accepts the sender’s own events with either header', async () => {
    const { post, producer } = await gateway();
    const police = withNewId(example('incident.created', 'police-emergency-rural'));
    const response = await post(JSON.stringify([police]), {
      'content-type': 'application/json',
      'x-api-key': TEST_KEYS.police,
    });
    expect(response.statusCode).toBe(200);
    expect(producer.messages()).toEqual([
      {
        topic: 'unit.bluelight.incidents.v1',
        key: 'staffordshire-police/SP-240305-0412',
        event: police,
        headers: { 'bluelight.gateway.key_id': 'police-cad' },
      },
    ]);
  });

  it('logs the key id, never the key', async () => {
    const { postEvents, logs } = await gateway();
    await postEvents([withNewId(example('call.presented', '999-fire'))]);
    await postEvents([{}], 'a-wrong-key-that-must-not-be-logged');
    expect(logs()).toContain('"key_id":"staffs"');
    expect(logs()).toContain('"status":401');
    expect(logs()).not.toContain(TEST_KEYS.staffs);
    expect(logs()).not.toContain('a-wrong-key-that-must-not-be-logged');
  });
});

describe('per-event results', () => {
  it('accepts good events beside bad ones, in one send, and names each bad one’s field', async () => {
    const { postEvents, producer } = await gateway();
    const good = validExamples().map((e) => withNewId(e.event));
    const bad = invalidExamples();
    const response = await postEvents([...good, ...bad.map((e) => e.event)]);
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.summary).toEqual({
      received: good.length + bad.length,
      accepted: good.length,
      duplicates: 0,
      rejected: bad.length,
    });
    expect(body.accepted).toEqual(
      good.map((event, index) => ({ index, event_id: event.event_id, duplicate: false })),
    );
    expect(body.rejected.map((item: { index: number }) => item.index)).toEqual(
      bad.map((_, position) => good.length + position),
    );
    bad.forEach((invalid, position) => {
      const paths = body.rejected[position].errors.map((error: { path: string }) => error.path);
      expect(paths, invalid.name).toContain(invalid.expectPath);
    });
    expect(producer.sends).toHaveLength(1);
    expect(
      producer
        .messages()
        .map((message) => message.event.event_id)
        .sort(),
    ).toEqual(good.map((event) => event.event_id).sort());
  });

  it('reports the event id of a rejected event when it has one', async () => {
    const { postEvents } = await gateway();
    const event = { ...withNewId(example('call.presented', '999-fire')), schema_version: 2 };
    const response = await postEvents([event]);
    expect(response.json().rejected).toEqual([
      {
        index: 0,
        event_id: event.event_id,
        errors: [{ path: 'schema_version', message: 'Invalid input: expected 1' }],
      },
    ]);
  });

  it('takes NDJSON: a line that is not JSON rejects only itself, with its line number', async () => {
    const { post, producer } = await gateway();
    const first = withNewId(example('call.presented', '999-fire'));
    const second = withNewId(example('call.answered', '999-fire'));
    const response = await post(
      `${JSON.stringify(first)}\n\n{"event_id":\n${JSON.stringify(second)}\n`,
      {
        'content-type': 'application/x-ndjson',
        authorization: `Bearer ${TEST_KEYS.staffs}`,
      },
    );
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.accepted).toEqual([
      { index: 0, line: 1, event_id: first.event_id, duplicate: false },
      { index: 2, line: 4, event_id: second.event_id, duplicate: false },
    ]);
    expect(body.rejected).toEqual([
      {
        index: 1,
        line: 3,
        errors: [{ path: '(line 3)', message: expect.stringMatching(/^not JSON: /) }],
      },
    ]);
    expect(producer.messages().map((message) => message.key)).toEqual([
      'staffordshire-control/C-20240112-004211',
      'staffordshire-control/C-20240112-004211',
    ]);
  });
});

/** The JSON of `event` as bytes, its `area` holding `bytes` (which need not be UTF-8) after "Stoke". */
function withAreaBytes(event: Record<string, unknown>, bytes: number[]): Buffer {
  const marked = structuredClone(event) as { payload: { location: { area: string } } };
  marked.payload.location.area = 'Stoke@@';
  const [before, after] = JSON.stringify(marked).split('@@') as [string, string];
  return Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
}

describe('the earliest event time', () => {
  it('refuses an event dated 1900 naming occurred_at, and accepts the events beside it', async () => {
    const { postEvents, producer } = await gateway();
    const good = withNewId(example('call.presented', '999-fire'));
    const old = {
      ...withNewId(example('call.presented', '999-fire')),
      occurred_at: '1900-01-01T00:00:00Z',
    };
    const response = await postEvents([good, old]);
    expect(response.statusCode).toBe(200);
    expect(response.json().rejected).toEqual([
      {
        index: 1,
        event_id: old.event_id,
        errors: [
          {
            path: 'occurred_at',
            message:
              "is before the earliest event time accepted, 2000-01-01T00:00:00.000Z (1900-01-01T00:00:00Z); check the producer's date parsing (EARLIEST_EVENT_TIME sets the bound)",
          },
        ],
      },
    ]);
    expect(producer.messages().map((message) => message.event.event_id)).toEqual([good.event_id]);
  });

  it('takes the bound from EARLIEST_EVENT_TIME, for call_received_at too', async () => {
    const { postEvents, producer } = await gateway({ EARLIEST_EVENT_TIME: '2024-01-12T19:44:00Z' });
    // The example incident was created at 19:44:02 from a call received at 19:42:03.120.
    const created = withNewId(example('incident.created', 'primary-dwelling-fire'));
    const payload = created.payload as Record<string, unknown>;
    const response = await postEvents([created]);
    expect(response.json().rejected[0].errors.map((error: { path: string }) => error.path)).toEqual(
      ['payload.call_received_at'],
    );
    expect(payload.call_received_at).toBe('2024-01-12T19:42:03.120Z');
    expect(producer.sends).toEqual([]);
  });
});

describe('the accepted-event-id window', () => {
  it('is per agency: another agency’s event with the same id is new, and sent', async () => {
    const { postEvents, producer } = await gateway();
    const fire = withNewId(example('incident.created', 'primary-dwelling-fire'));
    const police = {
      ...example('incident.created', 'police-emergency-rural'),
      event_id: fire.event_id,
    };
    expect((await postEvents([fire], TEST_KEYS.fire)).json().summary.duplicates).toBe(0);
    expect((await postEvents([police], TEST_KEYS.police)).json().accepted).toEqual([
      { index: 0, event_id: fire.event_id, duplicate: false },
    ]);
    // In one request too (a key that writes both agencies).
    const both = withNewId(example('incident.created', 'primary-dwelling-fire'));
    const answer = await postEvents([both, { ...police, event_id: both.event_id }]);
    expect(answer.json().summary.duplicates).toBe(0);
    expect(
      producer
        .messages()
        .map((message) => [
          message.event.event_id,
          (message.event as unknown as { agency: string }).agency,
        ]),
    ).toEqual([
      [fire.event_id, 'staffordshire-fire'],
      [fire.event_id, 'staffordshire-police'],
      [both.event_id, 'staffordshire-fire'],
      [both.event_id, 'staffordshire-police'],
    ]);
  });
});

describe('text that is not UTF-8', () => {
  const auth = { authorization: `Bearer ${TEST_KEYS.staffs}` };
  // A Latin-1 "é" (0xE9), as a CAD export in Windows-1252 would send "Stoké".
  const LATIN1 = [0xe9];

  it('refuses the event naming its index and field, and accepts the events beside it (JSON)', async () => {
    const { post, producer } = await gateway();
    const first = withNewId(example('call.presented', '999-fire'));
    const broken = withNewId(example('incident.created', 'primary-dwelling-fire'));
    const last = withNewId(example('call.answered', '999-fire'));
    const body = Buffer.concat([
      Buffer.from(`[${JSON.stringify(first)},`),
      withAreaBytes(broken, LATIN1),
      Buffer.from(`,${JSON.stringify(last)}]`),
    ]);
    const response = await post(body, { ...auth, 'content-type': 'application/json' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      summary: { received: 3, accepted: 2, duplicates: 0, rejected: 1 },
      accepted: [
        { index: 0, event_id: first.event_id, duplicate: false },
        { index: 2, event_id: last.event_id, duplicate: false },
      ],
      rejected: [
        {
          index: 1,
          event_id: broken.event_id,
          errors: [
            {
              path: 'payload.location.area',
              message:
                'is not valid UTF-8 text: it holds bytes that are not UTF-8 (or an unpaired surrogate escape \\uD800–\\uDFFF); it was refused, not repaired',
            },
          ],
        },
      ],
    });
    // Only the two good events went to Kafka, and nothing was repaired into U+FFFD on the way.
    expect(producer.messages().map((message) => message.event.event_id)).toEqual([
      first.event_id,
      last.event_id,
    ]);
    expect(
      producer.sends
        .flat()
        .some((batch) => batch.messages.some((m) => String(m.value).includes('\uFFFD'))),
    ).toBe(false);
  });

  it('refuses the line naming its line and field, and accepts the lines beside it (NDJSON)', async () => {
    const { post, producer } = await gateway();
    const first = withNewId(example('call.presented', '999-fire'));
    const broken = withNewId(example('incident.created', 'primary-dwelling-fire'));
    const last = withNewId(example('call.answered', '999-fire'));
    const body = Buffer.concat([
      Buffer.from(`${JSON.stringify(first)}\n`),
      // A UTF-8 sequence cut short (the first two bytes of "€").
      withAreaBytes(broken, [0xe2, 0x82]),
      Buffer.from(`\n\n${JSON.stringify(last)}\n`),
    ]);
    const response = await post(body, { ...auth, 'content-type': 'application/x-ndjson' });
    expect(response.statusCode).toBe(200);
    const answer = response.json();
    expect(answer.accepted).toEqual([
      { index: 0, line: 1, event_id: first.event_id, duplicate: false },
      { index: 2, line: 4, event_id: last.event_id, duplicate: false },
    ]);
    expect(answer.rejected).toEqual([
      {
        index: 1,
        line: 2,
        event_id: broken.event_id,
        errors: [
          {
            path: 'payload.location.area',
            message: expect.stringMatching(/^is not valid UTF-8 text/),
          },
        ],
      },
    ]);
    expect(producer.messages()).toHaveLength(2);
  });

  it('still takes U+FFFD and any other character sent as UTF-8', async () => {
    const { post, producer } = await gateway();
    const event = withNewId(example('incident.created', 'primary-dwelling-fire'));
    const body = Buffer.concat([
      Buffer.from('['),
      withAreaBytes(event, [...Buffer.from('\uFFFD é 🚒')]),
      Buffer.from(']'),
    ]);
    const response = await post(body, { ...auth, 'content-type': 'application/json' });
    expect(response.json().summary.accepted).toBe(1);
    const sent = producer.messages()[0]?.event as unknown as {
      payload: { location: { area: string } };
    };
    expect(sent.payload.location.area).toBe('Stoke\uFFFD é 🚒');
  });
});

describe('whole-request problems', () => {
  const auth = { authorization: `Bearer ${TEST_KEYS.staffs}` };

  it('answers 400 for a body that is not JSON, not an array, or empty', async () => {
    const { post } = await gateway();
    const json = { ...auth, 'content-type': 'application/json' };
    expect((await post('[{"event_id"', json)).json()).toEqual({
      error: 'bad_request',
      message: expect.stringMatching(/^the body is not JSON: /),
    });
    expect((await post('{"event_id":"x"}', json)).statusCode).toBe(400);
    expect((await post('', json)).statusCode).toBe(400);
    expect((await post('', auth)).statusCode).toBe(400);
  });

  it('answers 415 for other content types', async () => {
    const { post } = await gateway();
    const response = await post('[]', { ...auth, 'content-type': 'text/plain' });
    expect(response.statusCode).toBe(415);
    expect(response.json()).toEqual({
      error: 'unsupported_media_type',
      message:
        'Content-Type must be application/json (a JSON array of events) or application/x-ndjson (one event per line)',
    });
  });

  it('answers 413 over the event and byte limits', async () => {
    const { postEvents, post } = await gateway({
      GATEWAY_MAX_EVENTS: '3',
      GATEWAY_MAX_BYTES: '4096',
    });
    const event = example('call.presented', '999-fire');
    const tooMany = await postEvents([1, 2, 3, 4]);
    expect(tooMany.statusCode).toBe(413);
    expect(tooMany.json()).toEqual({
      error: 'payload_too_large',
      message: '4 events; at most 3 per request: split the batch',
    });
    const tooManyLines = await post('1\n2\n3\n4\n', {
      ...auth,
      'content-type': 'application/x-ndjson',
    });
    expect(tooManyLines.statusCode).toBe(413);
    const tooBig = await postEvents([event, event, { ...event, padding: 'x'.repeat(4096) }]);
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json()).toEqual({
      error: 'payload_too_large',
      message: 'the body is larger than 4096 bytes; split the batch',
    });
  });

  it('answers 429 with Retry-After past the key’s rate, and keeps other keys going', async () => {
    const { postEvents } = await gateway({
      GATEWAY_MAX_EVENTS: '10',
      GATEWAY_RATE_LIMIT_BURST: '10',
      GATEWAY_RATE_LIMIT_EVENTS_PER_SECOND: '2',
    });
    const staffsEvents = () =>
      Array.from({ length: 6 }, () => withNewId(example('call.presented', '999-fire')));
    expect((await postEvents(staffsEvents())).statusCode).toBe(200);
    const limited = await postEvents(staffsEvents());
    expect(limited.statusCode).toBe(429);
    // 4 tokens left (plus a few ms of refill), 6 needed at 2 a second: 1 s.
    expect(limited.headers['retry-after']).toBe('1');
    expect(limited.json().error).toBe('rate_limited');
    const police = withNewId(example('incident.created', 'police-emergency-rural'));
    expect((await postEvents([police], TEST_KEYS.police)).statusCode).toBe(200);
  });
});

describe('Kafka acknowledgement', () => {
  it('answers 503 with Retry-After and accepts nothing when the send fails', async () => {
    const { postEvents, producer } = await gateway();
    producer.failWith = new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    const event = withNewId(example('call.presented', '999-fire'));
    const response = await postEvents([event]);
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBe('5');
    expect(response.json()).toEqual({
      error: 'kafka_unavailable',
      message:
        'Kafka did not acknowledge the events (Connection error: connect ECONNREFUSED 127.0.0.1:9092); nothing from this request was accepted, send it again',
    });
    // Not remembered as accepted: the retry is sent, not reported as a duplicate.
    producer.failWith = undefined;
    const retry = await postEvents([event]);
    expect(retry.json().accepted).toEqual([
      { index: 0, event_id: event.event_id, duplicate: false },
    ]);
    expect(producer.messages()).toHaveLength(1);
  });

  it('answers 503 when Kafka does not acknowledge within GATEWAY_PRODUCE_TIMEOUT_MS', async () => {
    const { app, postEvents, producer } = await gateway({ GATEWAY_PRODUCE_TIMEOUT_MS: '100' });
    producer.gate = new Promise(() => {});
    const started = Date.now();
    const response = await postEvents([withNewId(example('call.presented', '999-fire'))]);
    expect(response.statusCode).toBe(503);
    expect(response.json().message).toContain('Kafka did not acknowledge within 100 ms');
    expect(Date.now() - started).toBeLessThan(2_000);
    const metrics = (await app.inject({ url: '/metrics' })).body;
    expect(metrics).toContain('gateway_in_flight_requests{service="ingest-gateway"} 0');
    expect(metrics).toContain(
      'gateway_events_total{outcome="rejected",reason="kafka_unavailable",service="ingest-gateway"} 1',
    );
  });
});

describe('idempotency', () => {
  it('reports a retried event as a duplicate and does not send it again', async () => {
    const { postEvents, producer } = await gateway();
    const first = withNewId(example('call.presented', '999-fire'));
    const second = withNewId(example('call.answered', '999-fire'));
    await postEvents([first]);
    const retry = await postEvents([first, second, second]);
    expect(retry.json()).toEqual({
      summary: { received: 3, accepted: 3, duplicates: 2, rejected: 0 },
      accepted: [
        { index: 0, event_id: first.event_id, duplicate: true },
        { index: 1, event_id: second.event_id, duplicate: false },
        { index: 2, event_id: second.event_id, duplicate: true },
      ],
      rejected: [],
    });
    expect(producer.messages().map((message) => message.event.event_id)).toEqual([
      first.event_id,
      second.event_id,
    ]);
  });

  it('sends an event once when two requests carry it at the same time', async () => {
    const { postEvents, producer } = await gateway();
    let release: () => void = () => {};
    producer.gate = new Promise((resolve) => {
      release = resolve;
    });
    const event = withNewId(example('call.presented', '999-fire'));
    const both = Promise.all([postEvents([event]), postEvents([event])]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    const [one, other] = await both;
    expect([one.json().accepted, other.json().accepted]).toEqual([
      [{ index: 0, event_id: event.event_id, duplicate: false }],
      [{ index: 0, event_id: event.event_id, duplicate: true }],
    ]);
    expect(producer.messages()).toHaveLength(1);
  });

  it('answers 503 to both requests when the send they share fails', async () => {
    const { postEvents, producer } = await gateway();
    let release: () => void = () => {};
    producer.gate = new Promise((resolve) => {
      release = resolve;
    });
    producer.failWith = new Error('broker down');
    const event = withNewId(example('call.presented', '999-fire'));
    const both = Promise.all([postEvents([event]), postEvents([event])]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    release();
    expect((await both).map((response) => response.statusCode)).toEqual([503, 503]);
  });
});

describe('produce path', () => {
  it('splits a large request into sends of at most 512 KiB, filled in order', async () => {
    const { postEvents, producer } = await gateway();
    const base = example('call.presented', '999-fire');
    const events = Array.from({ length: 5_000 }, () => withNewId(base));
    const response = await postEvents(events);
    expect(response.json().summary.accepted).toBe(5_000);
    const sendBytes = producer.sends.map((send) =>
      send
        .flatMap((batch) => batch.messages)
        .reduce((sum, message) => sum + Buffer.byteLength(String(message.value)), 0),
    );
    // About 270 bytes an event: 1.35 MB in three sends, each as full as 512 KiB allows.
    expect(sendBytes).toHaveLength(3);
    for (const bytes of sendBytes) expect(bytes).toBeLessThanOrEqual(512 * 1024);
    for (const bytes of sendBytes.slice(0, -1)) expect(bytes).toBeGreaterThan(512 * 1024 - 300);
    expect(producer.messages().map((message) => message.event.event_id)).toEqual(
      events.map((event) => event.event_id),
    );
  });

  it('groups one request’s events by topic in one send', async () => {
    const { postEvents, producer } = await gateway();
    await postEvents([
      withNewId(example('call.presented', '999-fire')),
      withNewId(example('incident.created', 'primary-dwelling-fire')),
      withNewId(example('resource.status_changed', 'committed')),
      withNewId(example('call.answered', '999-fire')),
    ]);
    expect(producer.sends).toHaveLength(1);
    expect(producer.sends[0]?.map((batch) => [batch.topic, batch.messages.length])).toEqual([
      ['unit.bluelight.calls.v1', 2],
      ['unit.bluelight.incidents.v1', 1],
      ['unit.bluelight.resources.v1', 1],
    ]);
  });
});

describe('graceful shutdown', () => {
  it('finishes the requests in hand when closed, and takes no new ones', async () => {
    const { app, producer } = await gateway();
    let release: () => void = () => {};
    producer.gate = new Promise((resolve) => {
      release = resolve;
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const send = () =>
      fetch(`${address}/v1/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${TEST_KEYS.staffs}`,
        },
        body: JSON.stringify([withNewId(example('call.presented', '999-fire'))]),
      });
    const inHand = send();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = app.close();
    await expect(send()).rejects.toThrow('fetch failed');
    release();
    expect((await inHand).status).toBe(200);
    await closing;
    expect(producer.messages()).toHaveLength(1);
  });
});

describe('documentation and metrics', () => {
  it('serves OpenAPI 3.1 at /docs/json and Swagger UI at /docs', async () => {
    const { app } = await gateway();
    const document = (await app.inject({ url: '/docs/json' })).json();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths.post ?? document.paths['/v1/events'])).toEqual(['post']);
    expect(Object.keys(document.paths['/v1/events'].post.requestBody.content)).toEqual([
      'application/json',
      'application/x-ndjson',
    ]);
    expect(Object.keys(document.paths['/v1/events'].post.responses)).toEqual([
      '200',
      '400',
      '401',
      '403',
      '413',
      '415',
      '429',
      '500',
      '503',
    ]);
    expect(document.components.schemas.EventInput.oneOf).toHaveLength(
      validExamples().reduce((types, e) => types.add(e.eventType), new Set<string>()).size,
    );
    const ui = await app.inject({ url: '/docs' });
    expect(ui.statusCode).toBe(200);
    expect(ui.headers['content-type']).toContain('text/html');
  });

  it('counts events by outcome and reason, and requests by status', async () => {
    const { app, postEvents } = await gateway();
    const event = withNewId(example('call.presented', '999-fire'));
    await postEvents([event, { ...event, event_id: 'bad' }]);
    await postEvents([event]);
    await postEvents([event], 'wrong-key');
    const metrics = (await app.inject({ url: '/metrics' })).body;
    for (const line of [
      'gateway_events_total{outcome="accepted",reason="none",service="ingest-gateway"} 1',
      'gateway_events_total{outcome="rejected",reason="contract",service="ingest-gateway"} 1',
      'gateway_events_total{outcome="duplicate",reason="recent_event_id",service="ingest-gateway"} 1',
      'gateway_requests_total{status="200",service="ingest-gateway"} 2',
      'gateway_requests_total{status="401",service="ingest-gateway"} 1',
      'gateway_produce_duration_seconds_count{service="ingest-gateway",outcome="acknowledged"} 1',
    ]) {
      expect(metrics).toContain(line);
    }
  });
});
