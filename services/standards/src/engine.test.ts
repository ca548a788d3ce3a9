import type { ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { computeKpi, KpiRequestError } from './engine.js';
import { loadStandards } from './load.js';
import { annualReport } from './report.js';

/** A client that fails the test if it is ever asked anything. */
const untouchable = {
  query: () => {
    throw new Error('no query may be sent');
  },
} as unknown as ClickHouseClient;

describe('agencies are a required part of every request', () => {
  it('refuses a KPI request for no agency, naming agency, before any query', async () => {
    const request = computeKpi(untouchable, loadStandards(), {
      standard: 'fire-attendance-standard',
      from: '2024-03-01',
      to: '2024-03-31',
      agencies: [],
    });
    await expect(request).rejects.toBeInstanceOf(KpiRequestError);
    await expect(request).rejects.toMatchObject({ parameter: 'agency' });
  });

  it('refuses an annual report for no agency, naming agency, before any query', async () => {
    const report = annualReport(
      untouchable,
      loadStandards(),
      { from: '2023-04-01', to: '2024-03-31' },
      [],
    );
    await expect(report).rejects.toMatchObject({ name: 'KpiRequestError', parameter: 'agency' });
  });
});
