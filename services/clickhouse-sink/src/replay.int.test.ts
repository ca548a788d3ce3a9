import { kafkaFor, testEndpoints } from '@bluelight/test/harness';
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
});
