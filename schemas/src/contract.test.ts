import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
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
          : 'SFRS-2024-000321';
      });
    expect(keys.length).toBeGreaterThan(3);
    expect(new Set(keys)).toEqual(new Set(['SFRS-2024-000321']));
  });
});
