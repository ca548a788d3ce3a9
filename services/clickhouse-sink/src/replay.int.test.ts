import type { ConsumedMessage } from '@bluelight/service-kit';
import { consumeMessages, kafkaFor, testEndpoints } from '@bluelight/test/harness';
import { afterEach, describe, expect, it } from 'vitest';
import { DLQ_HEADERS } from './dead-letters.js';
import { replayDeadLetters } from './replay.js';
import { incidentScenario, type TestEvent } from './testing/incident-scenario.js';
import { startTestSink } from './testing/sink-harness.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

const START = Date.parse('2024-05-01T08:00:00Z');

describe('bluelight dlq replay (real Kafka and ClickHouse)', () => {
  it('re-sends what passes now, stops at what still fails, and resumes there with another policy', async () => {
    const sink = await startTestSink({ families: 'incidents' });
    cleanups.push(sink.cleanup);
    const family = sink.families.incidents;
    const { events } = incidentScenario(2, START, 'INC-REPLAY');
    const [first, second] = events.map((own) => own[0] as TestEvent);
    // Dead letters as an older sink left them: a valid event refused under an older contract,
    // a message that is still not JSON, and another valid event.
    const letter = (value: string, key: string) => ({
      key,
      value,
      headers: {
        [DLQ_HEADERS.originalTopic]: family.topic.name,
        [DLQ_HEADERS.errorClass]: 'contract',
        [DLQ_HEADERS.reason]: 'refused by an older contract',
        'x-trace-id': `trace-${key}`,
      },
    });
    await sink.producer.send([
      {
        topic: family.topic.deadLetter.name,
        messages: [
          letter(JSON.stringify(first), 'INC-REPLAY-0000'),
          letter('{"not json', 'INC-REPLAY-0000'),
          letter(JSON.stringify(second), 'INC-REPLAY-0001'),
        ],
      },
    ]);
    const kafka = kafkaFor(testEndpoints().kafkaBrokers);
    const groupId = `${sink.config.SINK_GROUP_PREFIX}-replay`;

    const dryRun = await replayDeadLetters({
      kafka,
      family,
      policy: 'stop',
      groupId,
      dryRun: true,
    });
    expect(dryRun).toMatchObject({ examined: 2, reinserted: 1, stoppedAt: { offset: '1' } });
    expect(await sink.admin.committedOffsets(groupId, family.topic.deadLetter.name)).toEqual([
      { partition: 0, offset: '-1' },
    ]);

    const stopped = await replayDeadLetters({ kafka, family, policy: 'stop', groupId });
    expect(stopped).toEqual({
      examined: 2,
      reinserted: 1,
      dropped: 0,
      stoppedAt: { partition: 0, offset: '1', reason: expect.stringMatching(/^not JSON/) },
    });
    await sink.waitUntilCommitted('incidents', 1);
    const replayed = await sink.db.client.query({
      query: 'SELECT event_id FROM incidents_raw FINAL',
      format: 'JSONEachRow',
    });
    expect(await replayed.json()).toEqual([{ event_id: first?.event_id }]);

    const dropped = await replayDeadLetters({ kafka, family, policy: 'drop', groupId });
    expect(dropped).toEqual({ examined: 2, reinserted: 1, dropped: 1 });
    await sink.waitUntilCommitted('incidents', 2);
    expect(await replayDeadLetters({ kafka, family, policy: 'drop', groupId })).toEqual({
      examined: 0,
      reinserted: 0,
      dropped: 0,
    });
    expect(await sink.admin.committedOffsets(groupId, family.topic.deadLetter.name)).toEqual([
      { partition: 0, offset: '3' },
    ]);
  });

  it('reinsert re-sends every dead letter: what passes now lands once, what fails comes back', async () => {
    const sink = await startTestSink({ families: 'incidents' });
    cleanups.push(sink.cleanup);
    const family = sink.families.incidents;
    const dlqTopic = family.topic.deadLetter.name;
    const [valid] = incidentScenario(1, START, 'INC-REINSERT').events.flat();
    // As an older sink left them: a valid event refused by a stricter rule since relaxed, and a
    // message that is still not JSON; both with a header of their producer's.
    const letter = (value: string, trace: string) => ({
      key: 'INC-REINSERT-0000',
      value,
      headers: {
        [DLQ_HEADERS.originalTopic]: family.topic.name,
        [DLQ_HEADERS.originalPartition]: '3',
        [DLQ_HEADERS.originalOffset]: '17',
        [DLQ_HEADERS.errorClass]: 'contract',
        [DLQ_HEADERS.reason]: 'refused by an older contract',
        [DLQ_HEADERS.service]: 'clickhouse-sink',
        [DLQ_HEADERS.failedAt]: '2024-04-30T23:59:59.000Z',
        'x-trace-id': trace,
      },
    });
    await sink.producer.send([
      {
        topic: dlqTopic,
        messages: [
          letter(JSON.stringify(valid), 'trace-valid'),
          letter('{"not json', 'trace-broken'),
        ],
      },
    ]);
    const kafka = kafkaFor(testEndpoints().kafkaBrokers);
    const groupId = `${sink.config.SINK_GROUP_PREFIX}-replay`;

    expect(await replayDeadLetters({ kafka, family, policy: 'reinsert', groupId })).toEqual({
      examined: 2,
      reinserted: 2,
      dropped: 0,
    });
    await sink.waitUntilCommitted('incidents', 2);

    // Both went back to the source topic as their producer sent them, marked where they came
    // from, without the old dead-letter headers.
    const resent = await consumeMessages({
      brokers: testEndpoints().kafkaBrokers,
      topic: family.topic.name,
      count: 2,
    });
    expect(
      resent
        .map((message) => ({ value: message.value?.toString(), headers: message.headers }))
        .sort((a, b) =>
          (a.headers['x-trace-id'] ?? '').localeCompare(b.headers['x-trace-id'] ?? ''),
        ),
    ).toEqual([
      {
        value: '{"not json',
        headers: { 'x-trace-id': 'trace-broken', 'bluelight.dlq.replayed_from': `${dlqTopic}/0/1` },
      },
      {
        value: JSON.stringify(valid),
        headers: { 'x-trace-id': 'trace-valid', 'bluelight.dlq.replayed_from': `${dlqTopic}/0/0` },
      },
    ]);

    // The one that still fails was dead-lettered again by the sink, naming its new origin.
    const letters = await consumeMessages({
      brokers: testEndpoints().kafkaBrokers,
      topic: dlqTopic,
      count: 3,
    });
    expect(letters).toHaveLength(3);
    const again = letters.find((message) => message.offset === '2') as ConsumedMessage;
    const broken = resent.find((message) => message.value?.toString() === '{"not json');
    expect(again.value?.toString()).toBe('{"not json');
    expect(again.headers).toMatchObject({
      [DLQ_HEADERS.originalTopic]: family.topic.name,
      [DLQ_HEADERS.originalPartition]: String(broken?.partition),
      [DLQ_HEADERS.originalOffset]: broken?.offset,
      [DLQ_HEADERS.errorClass]: 'undecodable',
      'x-trace-id': 'trace-broken',
      'bluelight.dlq.replayed_from': `${dlqTopic}/0/1`,
    });

    // A further reinsert re-sends only what came back; the valid event is still there once.
    expect(await replayDeadLetters({ kafka, family, policy: 'reinsert', groupId })).toEqual({
      examined: 1,
      reinserted: 1,
      dropped: 0,
    });
    await sink.waitUntilCommitted('incidents', 3);
    const raw = await sink.db.client.query({
      query: 'SELECT event_id, count() AS n FROM incidents_raw GROUP BY event_id',
      format: 'JSONEachRow',
    });
    expect(await raw.json()).toEqual([{ event_id: valid?.event_id, n: 1 }]);
    const table = await sink.db.client.query({
      query: 'SELECT error_class, message_value FROM dead_letters FINAL',
      format: 'JSONEachRow',
    });
    expect(await table.json()).toEqual([
      { error_class: 'undecodable', message_value: '{"not json' },
      { error_class: 'undecodable', message_value: '{"not json' },
    ]);
    expect(await sink.admin.committedOffsets(groupId, dlqTopic)).toEqual([
      { partition: 0, offset: '3' },
    ]);
  });

  it('counts a dead letter that is not UTF-8 as still failing, never replaying it repaired', async () => {
    const sink = await startTestSink({ families: 'incidents' });
    cleanups.push(sink.cleanup);
    const family = sink.families.incidents;
    const { events } = incidentScenario(1, START, 'INC-LATIN1');
    const event = events[0]?.[0] as TestEvent;
    // A valid event but for one Latin-1 byte (0xE9) in its source system's name.
    const [before, after] = JSON.stringify({ ...event, source: 'sfrs-cad@@' }).split('@@') as [
      string,
      string,
    ];
    await sink.producer.send([
      {
        topic: family.topic.deadLetter.name,
        messages: [
          {
            key: 'INC-LATIN1-0000',
            value: Buffer.concat([Buffer.from(before), Buffer.from([0xe9]), Buffer.from(after)]),
          },
        ],
      },
    ]);
    const kafka = kafkaFor(testEndpoints().kafkaBrokers);
    const result = await replayDeadLetters({
      kafka,
      family,
      policy: 'stop',
      groupId: `${sink.config.SINK_GROUP_PREFIX}-replay-latin1`,
      dryRun: true,
    });
    expect(result).toEqual({
      examined: 1,
      reinserted: 0,
      dropped: 0,
      stoppedAt: {
        partition: 0,
        offset: '0',
        reason: `not valid UTF-8: byte 0xE9 at offset ${before.length} is not UTF-8, in source (dead-lettered as sent, not repaired)`,
      },
    });
  });
});
