import { describe, expect, it } from 'vitest';
import {
  assignRoundRobin,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from './group-protocol.js';

describe('the consumer protocol bytes', () => {
  it('encodes a subscription as ConsumerProtocolSubscription v0', () => {
    const bytes = encodeSubscription(['ab', 'c']);
    // version 0, 2 topics, "ab", "c", empty user data.
    expect([...bytes]).toEqual([0, 0, 0, 0, 0, 2, 0, 2, 97, 98, 0, 1, 99, 0, 0, 0, 0]);
    expect(decodeSubscription(bytes)).toEqual(['ab', 'c']);
  });

  it('encodes an assignment as ConsumerProtocolAssignment v0 and reads it back', () => {
    const bytes = encodeAssignment([{ topic: 't', partitions: [0, 2] }]);
    expect([...bytes]).toEqual([
      0, 0, 0, 0, 0, 1, 0, 1, 116, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0,
    ]);
    expect(decodeAssignment(bytes)).toEqual([{ topic: 't', partitions: [0, 2] }]);
    // A member given nothing may get no bytes at all.
    expect(decodeAssignment(Buffer.alloc(0))).toEqual([]);
  });
});

describe('assignRoundRobin', () => {
  it('gives every partition to exactly one subscribed member, evenly, the same on every leader', () => {
    const members = new Map([
      ['m-b', ['calls', 'incidents']],
      ['m-a', ['calls', 'incidents']],
    ]);
    const counts = new Map([
      ['calls', 3],
      ['incidents', 3],
    ]);
    const plan = assignRoundRobin(members, counts);
    expect(plan).toEqual(
      new Map([
        [
          'm-a',
          [
            { topic: 'calls', partitions: [0, 2] },
            { topic: 'incidents', partitions: [1] },
          ],
        ],
        [
          'm-b',
          [
            { topic: 'calls', partitions: [1] },
            { topic: 'incidents', partitions: [0, 2] },
          ],
        ],
      ]),
    );
    // Members listed in another order get the same plan.
    expect(assignRoundRobin(new Map([...members].reverse()), counts)).toEqual(plan);
  });

  it('gives a topic only to the members subscribed to it', () => {
    const plan = assignRoundRobin(
      new Map([
        ['one', ['a']],
        ['two', ['a', 'b']],
      ]),
      new Map([
        ['a', 2],
        ['b', 2],
      ]),
    );
    expect(plan.get('one')).toEqual([{ topic: 'a', partitions: [0] }]);
    expect(plan.get('two')).toEqual([
      { topic: 'a', partitions: [1] },
      { topic: 'b', partitions: [0, 1] },
    ]);
  });
});
