import { type EventType, invalidExamples, topicFor, validExamples } from '@bluelight/schemas';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_KEYS, withNewId } from './testing/events.js';
import { landed, startTestGateway } from './testing/gateway-harness.js';

type Gateway = Awaited<ReturnType<typeof startTestGateway>>;
const gateways: Gateway[] = [];
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gateway) => gateway.cleanup()));
});

async function gateway(env: Record<string, string> = {}) {
  const started = await startTestGateway({ env });
  gateways.push(started);
  return started;
}

type AnyEvent = {
  event_id: string;
  event_type: string;
  agency: string;
  payload: Record<string, unknown>;
};

/** Every valid example under a new id: 25 events of 17 types across the three topics. */
function freshValidEvents(): AnyEvent[] {
  return validExamples().map((example) => withNewId(example.event as AnyEvent));
}

/** The key the contract gives each type, `agency/entity id`, read straight from the example. */
function entityKey(event: AnyEvent): string {
  const field = event.event_type.startsWith('call.')
    ? 'call_id'
    : event.event_type.startsWith('incident.')
      ? 'incident_id'
      : 'resource_id';
  return `${event.agency}/${String(event.payload[field])}`;
}

/**
 * Checks that exactly `sent` landed, each once, on its type's topic with its entity id as the
 * key; that all messages of one key share one partition; and that it is the partition Kafka's
 * Java client would choose for that key (computed independently of the gateway's producer).
 */
async function expectLandedExactlyOnce(gateway: Gateway, sent: AnyEvent[], keyId = 'staffs') {
  const messages = (await gateway.readAll()).map(landed);
  expect(messages.map((message) => message.event.event_id).sort()).toEqual(
    sent.map((event) => event.event_id).sort(),
  );
  const byId = new Map(messages.map((message) => [message.event.event_id, message]));
  for (const event of sent) {
    const message = byId.get(event.event_id);
    expect(message?.event).toEqual(event);
    expect(message?.topic).toBe(gateway.topic(topicFor(event.event_type as EventType).name));
    expect(message?.key).toBe(entityKey(event));
    expect(message?.keyId).toBe(keyId);
  }
  const partitionsByKey = new Map<string, Set<number>>();
  for (const message of messages) {
    const where = `${message.topic} ${message.key}`;
    partitionsByKey.set(where, (partitionsByKey.get(where) ?? new Set()).add(message.partition));
  }
  for (const [where, partitions] of partitionsByKey) {
    expect([...partitions], where).toHaveLength(1);
    const [topic, key] = where.split(' ') as [string, string];
    expect(await gateway.referencePartition(topic, key), where).toBe([...partitions][0]);
  }
}

describe('ingest gateway with Kafka', () => {
  it('refuses missing and wrong keys (401) and another agency’s events (403); lands the rest once', async () => {
    const gw = await gateway();
    const fire = withNewId(
      validExamples().find(
        (e) => e.eventType === 'incident.created' && e.name === 'primary-dwelling-fire',
      )?.event as AnyEvent,
    );
    const police = withNewId(
      validExamples().find(
        (e) => e.eventType === 'incident.created' && e.name === 'police-emergency-rural',
      )?.event as AnyEvent,
    );

    const missing = await gw.app().inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify([police]),
    });
    expect(missing.statusCode).toBe(401);
    expect((await gw.post([police], { key: 'not-a-key' })).statusCode).toBe(401);

    const foreign = await gw.post([police, fire], { key: TEST_KEYS.police });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().rejected.map((item: { index: number }) => item.index)).toEqual([1]);

    const own = await gw.post([police], { key: TEST_KEYS.police });
    expect(own.statusCode).toBe(200);
    expect(own.json().accepted).toEqual([
      { index: 0, event_id: police.event_id, duplicate: false },
    ]);

    await expectLandedExactlyOnce(gw, [police], 'police-cad');
  });

  it.each(['json', 'ndjson'] as const)(
    'lands the good events of a mixed %s batch once each; the bad come back with field paths',
    async (format) => {
      const gw = await gateway();
      const good = freshValidEvents();
      const bad = invalidExamples();
      // Interleaved, so the indexes of both kinds are checked.
      const batch: unknown[] = [];
      const badIndexes: number[] = [];
      for (let position = 0; position < Math.max(good.length, bad.length); position++) {
        const event = good[position];
        if (event) batch.push(event);
        const invalid = bad[position];
        if (invalid) {
          badIndexes.push(batch.length);
          batch.push(invalid.event);
        }
      }
      const response = await gw.post(batch, { format });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body.summary).toEqual({
        received: good.length + bad.length,
        accepted: good.length,
        duplicates: 0,
        rejected: bad.length,
      });
      expect(body.rejected.map((item: { index: number }) => item.index)).toEqual(badIndexes);
      bad.forEach((invalid, position) => {
        const rejection = body.rejected[position];
        expect(
          rejection.errors.map((error: { path: string }) => error.path),
          invalid.name,
        ).toContain(invalid.expectPath);
        if (format === 'ndjson') expect(rejection.line).toBe((badIndexes[position] as number) + 1);
        const eventId = (invalid.event as { event_id?: unknown }).event_id;
        if (typeof eventId === 'string') expect(rejection.event_id).toBe(eventId);
      });
      await expectLandedExactlyOnce(gw, good);
    },
  );

  it('takes NDJSON: good lines land once, a line that is not JSON comes back with its line', async () => {
    const gw = await gateway();
    const good = freshValidEvents();
    const lines = good.map((event) => JSON.stringify(event));
    lines.splice(3, 0, '{"event_id": "018e0ef3-26c0-7a0a-a170-b33839263059",');
    const response = await gw.post([], { format: 'ndjson', body: `${lines.join('\n')}\n` });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.summary).toEqual({
      received: good.length + 1,
      accepted: good.length,
      duplicates: 0,
      rejected: 1,
    });
    expect(body.rejected).toEqual([
      {
        index: 3,
        line: 4,
        errors: [{ path: '(line 4)', message: expect.stringMatching(/^not JSON: /) }],
      },
    ]);
    await expectLandedExactlyOnce(gw, good);
  });

  it('reports a retried request’s events as duplicates and sends no second message', async () => {
    const gw = await gateway();
    const events = freshValidEvents();
    const first = await gw.post(events);
    expect(first.json().summary.duplicates).toBe(0);
    const retry = await gw.post(events, { format: 'ndjson' });
    expect(retry.statusCode).toBe(200);
    expect(retry.json().accepted).toEqual(
      events.map((event, index) => ({
        index,
        line: index + 1,
        event_id: event.event_id,
        duplicate: true,
      })),
    );
    await expectLandedExactlyOnce(gw, events);
  });

  it('takes the same event id from two agencies as two new events: both land, neither is told duplicate', async () => {
    const gw = await gateway();
    const fire = withNewId(
      validExamples().find((example) => example.name === 'primary-dwelling-fire')
        ?.event as AnyEvent,
    );
    const police = {
      ...(structuredClone(
        validExamples().find((example) => example.name === 'police-emergency-rural')?.event,
      ) as AnyEvent),
      // Another agency's system numbered its event the same way.
      event_id: fire.event_id,
    };
    const fromFire = await gw.post([fire], { key: TEST_KEYS.fire });
    expect(fromFire.json().accepted).toEqual([
      { index: 0, event_id: fire.event_id, duplicate: false },
    ]);
    // Within the window: answering duplicate would tell the police that this id exists at the fire service.
    const fromPolice = await gw.post([police], { key: TEST_KEYS.police });
    expect(fromPolice.statusCode).toBe(200);
    expect(fromPolice.json().accepted).toEqual([
      { index: 0, event_id: police.event_id, duplicate: false },
    ]);
    // The same agency sending its event again is still a duplicate.
    const again = await gw.post([police], { key: TEST_KEYS.police });
    expect(again.json().accepted).toEqual([
      { index: 0, event_id: police.event_id, duplicate: true },
    ]);
    const landedHere = (await gw.readAll()).map(landed);
    expect(
      landedHere
        .map((message) => [message.event.agency, message.keyId, message.event.event_id])
        .sort(),
    ).toEqual(
      [
        ['staffordshire-fire', 'sfrs-cad', fire.event_id],
        ['staffordshire-police', 'police-cad', fire.event_id],
      ].sort(),
    );
  });

  it('answers 413, 415 and 429 (with Retry-After) and lands nothing from those requests', async () => {
    const gw = await gateway({
      GATEWAY_MAX_EVENTS: '30',
      GATEWAY_MAX_BYTES: '65536',
      GATEWAY_RATE_LIMIT_BURST: '40',
      GATEWAY_RATE_LIMIT_EVENTS_PER_SECOND: '1',
    });
    const events = freshValidEvents();
    expect((await gw.post([...events, ...freshValidEvents()])).statusCode).toBe(413);
    const huge = events.map((event) => ({ ...event, padding: 'x'.repeat(3_000) }));
    expect((await gw.post(huge)).statusCode).toBe(413);
    const wrongType = await gw.app().inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'text/csv', authorization: `Bearer ${TEST_KEYS.staffs}` },
      payload: 'event_id,event_type\n',
    });
    expect(wrongType.statusCode).toBe(415);

    expect((await gw.post(events)).statusCode).toBe(200);
    const limited = await gw.post(freshValidEvents());
    expect(limited.statusCode).toBe(429);
    // 15 tokens left, 25 needed at 1 a second.
    expect(limited.headers['retry-after']).toBe('10');
    await expectLandedExactlyOnce(gw, events);
  });
});
