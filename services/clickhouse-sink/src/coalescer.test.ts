import type { ConsumedBatch } from '@bluelight/service-kit';
import { describe, expect, it } from 'vitest';
import { BatchCoalescer } from './sink.js';

const batch = (partition: number) =>
  ({
    topic: 't',
    partition,
    messages: [],
    highWatermark: '0',
    heartbeat: async () => {},
  }) as ConsumedBatch;

describe('BatchCoalescer', () => {
  it('handles batches that arrive together as one unit, and later ones as the next', async () => {
    const units: number[][] = [];
    let release: () => void = () => {};
    const coalescer = new BatchCoalescer(async (batches) => {
      units.push(batches.map((b) => b.partition));
      if (units.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    const first = [0, 1, 2].map((p) => coalescer.submit(batch(p)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Arrive while the first unit is being written: they wait and go together.
    const second = [3, 4].map((p) => coalescer.submit(batch(p)));
    release();
    await Promise.all([...first, ...second]);
    expect(units).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
  });

  it('fails every batch of a failed unit, and only those', async () => {
    let calls = 0;
    const coalescer = new BatchCoalescer(async () => {
      calls += 1;
      if (calls === 1) throw new Error('ClickHouse said no');
    });
    const failed = [0, 1].map((p) => coalescer.submit(batch(p)));
    const results = await Promise.allSettled(failed);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    await expect(coalescer.submit(batch(2))).resolves.toBeUndefined();
  });
});
