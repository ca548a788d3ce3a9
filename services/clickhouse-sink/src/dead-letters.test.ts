import { describe, expect, it } from 'vitest';
import { DeadLetterGuard } from './dead-letters.js';
import { DeadLetterLimitExceeded } from './errors.js';

const ok = (count: number) => Array.from({ length: count }, () => false);
const bad = (count: number) => Array.from({ length: count }, () => true);

describe('DeadLetterGuard', () => {
  it('allows scattered invalid messages', () => {
    const guard = new DeadLetterGuard({ maxConsecutive: 3, maxRatio: 0.5, window: 10 });
    for (let round = 0; round < 20; round += 1) guard.check([...ok(3), true, ...ok(2)], 'test');
  });

  it('stops after more than maxConsecutive invalid messages in a row, across batches', () => {
    const guard = new DeadLetterGuard({ maxConsecutive: 3, maxRatio: 1, window: 100 });
    guard.check([...ok(5), ...bad(2)], 'topic[0]');
    expect(() => guard.check(bad(2), 'topic[0] offsets 7–8')).toThrow(
      new DeadLetterLimitExceeded(
        'topic[0] offsets 7–8: 4 invalid messages in a row (limit 3); stopping instead of dead-lettering them',
      ),
    );
  });

  it('stops when the invalid share of the window passes maxRatio', () => {
    const guard = new DeadLetterGuard({ maxConsecutive: 1_000, maxRatio: 0.5, window: 10 });
    guard.check([false, true, false, true, false, true, false, true, false, true], 'w');
    expect(() => guard.check([true, true], 'w')).toThrow(
      /of the last 10 messages were invalid \(limit 50%\)/,
    );
  });

  it('judges a retried batch the same way: a tripped check is not remembered', () => {
    const guard = new DeadLetterGuard({ maxConsecutive: 2, maxRatio: 1, window: 100 });
    expect(() => guard.check(bad(3), 'w')).toThrow(DeadLetterLimitExceeded);
    expect(() => guard.check(bad(3), 'w')).toThrow(DeadLetterLimitExceeded);
    guard.check(bad(2), 'w');
  });
});
