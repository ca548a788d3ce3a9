import { eventId } from '@bluelight/schemas';
import { describe, expect, it } from 'vitest';
import { deterministicUuidV7, eventIdentity } from './event-id.js';

const identity = (overrides: Partial<Parameters<typeof eventIdentity>[0]> = {}) =>
  eventIdentity({
    source: 'sffd-calls-for-service',
    agency: 'san-francisco-fire',
    record: 'unit_responses',
    rowKey: '163664050-E39',
    eventType: 'incident.resource_arrived',
    ...overrides,
  });

describe('deterministic event ids', () => {
  const at = Date.parse('2017-01-01T08:04:18Z');

  it('gives the same row and event the same UUID v7 every time', () => {
    expect(deterministicUuidV7(at, identity())).toBe(deterministicUuidV7(at, identity()));
    expect(eventId.safeParse(deterministicUuidV7(at, identity())).success).toBe(true);
  });

  it('puts the event time in the time part', () => {
    const id = deterministicUuidV7(at, identity());
    const millis = Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(millis).toBe(at);
    expect(id[14]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
  });

  it('differs for another event type, row, record or source', () => {
    const base = deterministicUuidV7(at, identity());
    const others = [
      identity({ eventType: 'incident.resource_mobile' }),
      identity({ rowKey: '163664050-E38' }),
      identity({ record: 'other' }),
      identity({ source: 'sffd-other' }),
      identity({ agency: 'another-fire' }),
    ].map((other) => deterministicUuidV7(at, other));
    expect(new Set([base, ...others]).size).toBe(6);
  });

  it('does not let parts run together (a|bc differs from ab|c)', () => {
    expect(deterministicUuidV7(at, identity({ record: 'a', rowKey: 'bc' }))).not.toBe(
      deterministicUuidV7(at, identity({ record: 'ab', rowKey: 'c' })),
    );
  });
});
