import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { earliestEventTimeSetting } from './common.js';
import { examplesDir, invalidExamples, validExamples } from './examples.js';
import { eventDefinitions, partitionKey, topicFor, topics } from './registry.js';
import { validateEvent } from './validate.js';

const valid = validExamples();
const invalid = invalidExamples();

describe('event contract (zod)', () => {
  it('has at least one valid example for every event type', () => {
    const covered = new Set(valid.map((example) => example.eventType));
    expect(
      eventDefinitions.map((definition) => definition.type).filter((t) => !covered.has(t)),
    ).toEqual([]);
  });

  it.each(valid.map((example) => [`${example.eventType}/${example.name}`, example] as const))(
    'accepts %s',
    (_label, example) => {
      const result = validateEvent(example.event);
      expect(result.ok ? [] : result.errors).toEqual([]);
      if (result.ok) expect(result.event.event_type).toBe(example.eventType);
    },
  );

  it.each(invalid.map((example) => [example.name, example] as const))(
    'rejects %s, naming the field path',
    (_label, example) => {
      const result = validateEvent(example.event);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.errors.map((error) => error.path)).toContain(example.expectPath);
      for (const error of result.errors) expect(error.message.length).toBeGreaterThan(0);
      if (example.expectMessage !== undefined) {
        const atPath = result.errors.filter((error) => error.path === example.expectPath);
        expect(atPath.map((error) => error.message).join(' / ')).toContain(example.expectMessage);
      }
    },
  );

  it('reports the event id and type of a refused event so a producer can match it', () => {
    const result = validateEvent({
      event_id: '0194fc3a-8b2f-7c31-9a1e-4f2b6c8d0e11',
      event_type: 'call.answered',
      payload: {},
    });
    expect(result).toMatchObject({
      ok: false,
      eventId: '0194fc3a-8b2f-7c31-9a1e-4f2b6c8d0e11',
      eventType: 'call.answered',
    });
  });

  it('refuses things that are not events at all without throwing', () => {
    for (const input of [null, 42, 'text', [], {}]) {
      const result = validateEvent(input);
      expect(result.ok).toBe(false);
    }
    const unknownType = validateEvent({ event_type: 'nope' });
    expect(unknownType.ok ? [] : unknownType.errors[0]?.path).toBe('event_type');
  });

  it('accepts a far-future check boundary: five minutes of clock skew is tolerated', () => {
    const example = valid.find((e) => e.eventType === 'call.answered');
    const soon = new Date(Date.now() + 4 * 60 * 1000).toISOString();
    const later = new Date(Date.now() + 6 * 60 * 1000).toISOString();
    const event = example?.event as Record<string, unknown>;
    expect(validateEvent({ ...event, occurred_at: soon }).ok).toBe(true);
    expect(validateEvent({ ...event, occurred_at: later }).ok).toBe(false);
  });
});

describe('the earliest event time', () => {
  const presented = valid.find((e) => e.eventType === 'call.presented')?.event as Record<
    string,
    unknown
  >;
  const created = valid.find((e) => e.eventType === 'incident.created')?.event as {
    occurred_at: string;
    payload: Record<string, unknown>;
  };

  it('refuses an event time before 2000-01-01T00:00:00Z by default, naming the field', () => {
    const result = validateEvent({ ...presented, occurred_at: '1999-12-31T23:59:59.999Z' });
    expect(result.ok ? [] : result.errors).toEqual([
      {
        path: 'occurred_at',
        message:
          "is before the earliest event time accepted, 2000-01-01T00:00:00.000Z (1999-12-31T23:59:59.999Z); check the producer's date parsing (EARLIEST_EVENT_TIME sets the bound)",
      },
    ]);
    // The bound itself is accepted; an offset is taken into account (00:30+01:00 is 23:30Z).
    expect(validateEvent({ ...presented, occurred_at: '2000-01-01T00:00:00Z' }).ok).toBe(true);
    expect(validateEvent({ ...presented, occurred_at: '2000-01-01T00:30:00+01:00' }).ok).toBe(
      false,
    );
  });

  it('takes the bound from its caller, for every event time of the contract', () => {
    const earliestEventTime = new Date('2024-01-01T00:00:00Z');
    const old = {
      ...created,
      occurred_at: '2023-12-31T23:00:00Z',
      payload: { ...created.payload, call_received_at: '2023-12-31T22:59:00Z' },
    };
    expect(validateEvent(old).ok).toBe(true);
    const result = validateEvent(old, { earliestEventTime });
    expect(result.ok ? [] : result.errors.map((error) => error.path)).toEqual([
      'occurred_at',
      'payload.call_received_at',
    ]);
    // Only for that call: the next one without a bound has the default again.
    expect(validateEvent(old).ok).toBe(true);
    expect(
      validateEvent(
        { ...presented, occurred_at: '1980-06-01T00:00:00Z' },
        { earliestEventTime: new Date('1970-01-01T00:00:00Z') },
      ).ok,
    ).toBe(true);
  });

  it('reads EARLIEST_EVENT_TIME as an instant from 1970 up to now', () => {
    expect(earliestEventTimeSetting.parse(undefined)).toEqual(new Date('2000-01-01T00:00:00Z'));
    expect(earliestEventTimeSetting.parse('2015-04-01T00:00:00+01:00')).toEqual(
      new Date('2015-03-31T23:00:00Z'),
    );
    const refusal = (value: string) =>
      earliestEventTimeSetting.safeParse(value).error?.issues.map((issue) => issue.message);
    expect(refusal('2015-04-01')).toEqual([
      'expected an ISO 8601 date-time with an offset, e.g. 2000-01-01T00:00:00Z',
    ]);
    expect(refusal('1969-12-31T23:59:59Z')).toEqual([
      "must not be before 1970-01-01T00:00:00Z: ClickHouse's Date (the day of an event) starts there",
    ]);
    expect(refusal('2999-01-01T00:00:00Z')).toEqual([
      'must not be in the future: every event would be refused',
    ]);
  });
});

describe('topic registry', () => {
  it('puts every event type on exactly one topic, keyed by its agency and entity id', () => {
    const carried = topics.flatMap((topic) => topic.eventTypes);
    expect([...carried].sort()).toEqual(eventDefinitions.map((d) => d.type).sort());
    expect(new Set(carried).size).toBe(carried.length);
    for (const example of valid) {
      const result = validateEvent(example.event);
      if (!result.ok) continue;
      const topic = topicFor(result.event.event_type);
      const payload = result.event.payload as Record<string, unknown>;
      const [agency, id] = partitionKey(result.event).split('/');
      expect(agency).toBe(result.event.agency);
      expect(`agency/payload.${Object.keys(payload).find((k) => payload[k] === id)}`).toBe(
        topic.key.field,
      );
    }
  });

  it('gives every topic its own dead-letter topic and sane settings', () => {
    const names = new Set<string>();
    for (const topic of topics) {
      expect(topic.name).toMatch(/^bluelight\.[a-z]+\.v\d+$/);
      expect(topic.deadLetter.name).toBe(`${topic.name}.dlq`);
      expect(topic.partitions).toBeGreaterThan(0);
      expect(topic.deadLetter.retentionMs).toBeGreaterThanOrEqual(topic.retentionMs);
      expect(topic.consumers.length).toBeGreaterThan(0);
      names.add(topic.name);
      names.add(topic.deadLetter.name);
    }
    expect(names.size).toBe(topics.length * 2);
  });

  // Topic example paths are relative to schemas/, the parent of examples/.
  const schemasDir = path.dirname(examplesDir);

  it.each(topics.map((topic) => [topic.name, topic] as const))(
    'lists exactly the valid examples of the event types %s carries, each valid',
    (_name, topic) => {
      const expected = valid
        .filter((example) => topic.eventTypes.includes(example.eventType))
        .map((example) => path.relative(schemasDir, example.file).split(path.sep).join('/'));
      expect(expected.length).toBeGreaterThan(0);
      expect([...topic.examples].sort()).toEqual([...expected].sort());
      for (const example of topic.examples) {
        const file = path.join(schemasDir, example);
        expect(existsSync(file), `${example} does not exist`).toBe(true);
        const result = validateEvent(JSON.parse(readFileSync(file, 'utf8')));
        expect(result.ok ? [] : result.errors, example).toEqual([]);
        if (result.ok) expect(topic.eventTypes, example).toContain(result.event.event_type);
      }
    },
  );

  it('keys the same incident to the same value whichever event carries it', () => {
    const keys = valid
      .filter(
        (example) =>
          example.event &&
          (example.event as { payload: { incident_id?: string } }).payload.incident_id ===
            'SFRS-2024-000321',
      )
      .map((example) => {
        const result = validateEvent(example.event);
        return result.ok && topicFor(result.event.event_type).family === 'incidents'
          ? partitionKey(result.event)
          : 'staffordshire-fire/SFRS-2024-000321';
      });
    expect(keys.length).toBeGreaterThan(3);
    expect(new Set(keys)).toEqual(new Set(['staffordshire-fire/SFRS-2024-000321']));
  });
});
