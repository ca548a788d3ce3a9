import { describe, expect, it } from 'vitest';
import { AcceptedEventIds } from './accepted-ids.js';

/** Staffordshire Fire's event with this id. */
const at = (eventId: string) => ({ agency: 'staffordshire-fire', eventId });

function idsWithClock(windowMs: number, maxIds: number) {
  let nowMs = 0;
  const ids = new AcceptedEventIds({ windowMs, maxIds, now: () => nowMs });
  return {
    ids,
    advance: (ms: number) => {
      nowMs += ms;
    },
  };
}

describe('AcceptedEventIds', () => {
  it('remembers acknowledged ids for the window, then forgets them', () => {
    const { ids, advance } = idsWithClock(600_000, 100);
    ids.beginProducing(['a', 'b'].map(at))(true);
    expect(ids.lookup(at('a'))).toEqual({ state: 'accepted' });
    advance(599_999);
    expect(ids.lookup(at('b'))).toEqual({ state: 'accepted' });
    advance(1);
    expect(ids.lookup(at('a'))).toEqual({ state: 'new' });
  });

  it('forgets ids Kafka did not acknowledge, so a retry produces them', () => {
    const { ids } = idsWithClock(600_000, 100);
    ids.beginProducing(['a'].map(at))(false);
    expect(ids.lookup(at('a'))).toEqual({ state: 'new' });
    expect(ids.size).toBe(0);
  });

  it('tells another request that an id is being produced, and how that ended', async () => {
    const { ids } = idsWithClock(600_000, 100);
    const settle = ids.beginProducing(['a'].map(at));
    const seen = ids.lookup(at('a'));
    expect(seen.state).toBe('producing');
    settle(true);
    expect(seen.state === 'producing' && (await seen.acknowledged)).toBe(true);
    expect(ids.lookup(at('a'))).toEqual({ state: 'accepted' });
  });

  it('keeps at most maxIds, dropping the oldest first', () => {
    const { ids, advance } = idsWithClock(600_000, 3);
    for (const id of ['a', 'b', 'c', 'd']) {
      ids.beginProducing([id].map(at))(true);
      advance(1_000);
    }
    expect(ids.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((id) => ids.lookup(at(id)).state)).toEqual([
      'new',
      'accepted',
      'accepted',
      'accepted',
    ]);
  });

  it('drops expired ids as new ones arrive', () => {
    const { ids, advance } = idsWithClock(1_000, 100);
    ids.beginProducing(['a', 'b'].map(at))(true);
    advance(1_500);
    ids.beginProducing(['c'].map(at))(true);
    expect(ids.size).toBe(1);
  });

  it('keeps agencies apart: the same event id of another agency is new', () => {
    const { ids } = idsWithClock(600_000, 100);
    ids.beginProducing([{ agency: 'staffordshire-fire', eventId: 'a' }])(true);
    expect(ids.lookup({ agency: 'staffordshire-fire', eventId: 'a' })).toEqual({
      state: 'accepted',
    });
    expect(ids.lookup({ agency: 'staffordshire-police', eventId: 'a' })).toEqual({ state: 'new' });
    const settle = ids.beginProducing([{ agency: 'staffordshire-police', eventId: 'a' }]);
    expect(ids.lookup({ agency: 'staffordshire-police', eventId: 'a' }).state).toBe('producing');
    settle(true);
    expect(ids.size).toBe(2);
  });
});
