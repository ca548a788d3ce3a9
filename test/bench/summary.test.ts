import { describe, expect, it } from 'vitest';
import { benchmarksMarkdown } from './summary.js';

const machine = {
  date: '2026-11-22T17:15:26.679Z',
  cpus: '2 × CPU',
  memoryGiB: 24,
  node: 'v20',
  java: 'openjdk 17',
  kafka: '4.4.0',
  clickhouse: 'chDB',
};

describe('docs/benchmarks.md', () => {
  it('says which targets were met and which were not, from the results alone', () => {
    const page = benchmarksMarkdown(
      {
        gateway: { machine, eventsPerSecond: 23_400, p50Ms: 166, p99Ms: 405 },
        latency: {
          machine,
          p50Ms: 900,
          p99Ms: 1_800,
          maxMs: 2_000,
          events: 12_000,
          achievedRate: 200,
        },
      },
      '## What limits it\n\nThe engine.',
    );
    expect(page).toContain('| 23,400 | ≥ 20,000 | met |');
    expect(page).toContain('| 900 / 1,800 ms | p99 ≤ 500 ms | **not met** |');
    expect(page).toContain('| 2026-11-22 17:15 UTC | 2 × CPU | 24 GiB |');
    expect(page.trimEnd().endsWith('The engine.')).toBe(true);
    // Suites without results are left out, not shown as zero.
    expect(page).not.toContain('Kafka → ClickHouse, Bluelight sink');
  });
});
