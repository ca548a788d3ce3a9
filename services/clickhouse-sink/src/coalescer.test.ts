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

/** A promise and the function that resolves it, for holding a step back. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('BatchCoalescer', () => {
  it('handles batches that arrive together as one unit, and later ones as the next', async () => {
    const units: number[][] = [];
    const firstWrite = gate();
    const coalescer = new BatchCoalescer<number[]>({
      prepare: async (batches) => batches.map((b) => b.partition),
      write: async (unit) => {
        units.push(unit);
        if (units.length === 1) await firstWrite.opened;
      },
    });
    const first = [0, 1, 2].map((p) => coalescer.submit(batch(p)));
    await tick();
    // Arrive while the first unit is being written: they wait and go together.
    const second = [3, 4].map((p) => coalescer.submit(batch(p)));
    await tick();
    firstWrite.open();
    await Promise.all([...first, ...second]);
    expect(units).toEqual([
      [0, 1, 2],
      [3, 4],
    ]);
  });

  it('prepares the next unit while the one before is written, and writes them in order', async () => {
    const log: string[] = [];
    const firstWrite = gate();
    const coalescer = new BatchCoalescer<number>({
      prepare: async ([b]) => {
        log.push(`prepare ${b?.partition}`);
        return b?.partition ?? -1;
      },
      write: async (unit) => {
        log.push(`write ${unit} starts`);
        if (unit === 0) await firstWrite.opened;
        log.push(`write ${unit} ends`);
      },
    });
    let settled = false;
    const first = coalescer.submit(batch(0)).then(() => {
      settled = true;
    });
    await tick();
    const second = coalescer.submit(batch(1));
    await tick();
    // Unit 1 is prepared; its write waits for unit 0's, and unit 0 is not committed yet.
    expect(log).toEqual(['prepare 0', 'write 0 starts', 'prepare 1']);
    expect(settled).toBe(false);
    firstWrite.open();
    await Promise.all([first, second]);
    expect(log).toEqual([
      'prepare 0',
      'write 0 starts',
      'prepare 1',
      'write 0 ends',
      'write 1 starts',
      'write 1 ends',
    ]);
  });

  it('prepares no further than one unit ahead of the write in progress', async () => {
    const prepared: number[] = [];
    const firstWrite = gate();
    const coalescer = new BatchCoalescer<number>({
      prepare: async ([b]) => {
        prepared.push(b?.partition ?? -1);
        return b?.partition ?? -1;
      },
      write: async (unit) => {
        if (unit === 0) await firstWrite.opened;
      },
    });
    const submitted = [coalescer.submit(batch(0))];
    await tick();
    submitted.push(coalescer.submit(batch(1)));
    await tick();
    submitted.push(coalescer.submit(batch(2)));
    await tick();
    expect(prepared).toEqual([0, 1]);
    firstWrite.open();
    await Promise.all(submitted);
    expect(prepared).toEqual([0, 1, 2]);
  });

  it('fails every batch of a failed unit, and only those', async () => {
    let writes = 0;
    const coalescer = new BatchCoalescer<null>({
      prepare: async () => null,
      write: async () => {
        writes += 1;
        if (writes === 1) throw new Error('ClickHouse said no');
      },
    });
    const failed = [0, 1].map((p) => coalescer.submit(batch(p)));
    const results = await Promise.allSettled(failed);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    await expect(coalescer.submit(batch(2))).resolves.toBeUndefined();
  });

  it('fails a unit whose preparation failed without writing it', async () => {
    const written: string[] = [];
    const coalescer = new BatchCoalescer<string>({
      prepare: async ([b]) => {
        if (b?.partition === 0) throw new Error('too many dead letters');
        return `unit ${b?.partition}`;
      },
      write: async (unit) => {
        written.push(unit);
      },
    });
    await expect(coalescer.submit(batch(0))).rejects.toThrow('too many dead letters');
    await coalescer.submit(batch(1));
    expect(written).toEqual(['unit 1']);
  });
});
