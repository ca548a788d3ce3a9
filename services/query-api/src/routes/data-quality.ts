import {
  DATA_QUALITY_CHECK_DESCRIPTIONS,
  DATA_QUALITY_CHECKS,
  DATA_QUALITY_CSV_COLUMNS,
  dataQualityRecords,
  dataQualitySummary,
} from '@bluelight/standards';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DEFAULT_LIMIT } from '../params.js';
import {
  agenciesRead,
  errorResponses,
  jsonOrCsv,
  security,
  type V1RouteOptions,
} from './common.js';

const checkCounts = z
  .object(Object.fromEntries(DATA_QUALITY_CHECKS.map((check) => [check, z.int()])))
  .describe('Records flagged by each check (every check named, 0 when none).');

const summaryResponse = z.object({
  period: z.object({ from: z.string(), to: z.string() }),
  agencies: agenciesRead,
  thresholds: z.object({
    clockSkewSeconds: z.number(),
    lateIngestSeconds: z.number(),
    finishedAfterSeconds: z.number(),
  }),
  checks: z
    .record(z.string(), z.string())
    .describe('What each check flags (docs/data-quality.md has the definitions).'),
  totals: checkCounts,
  sources: z
    .array(z.object({ agency: z.string(), source: z.string(), checks: checkCounts }))
    .describe('Per agency and source system (of the entity’s creation), those with a record.'),
});

const recordsResponse = z.object({
  period: z.object({ from: z.string(), to: z.string() }),
  agencies: agenciesRead,
  checks: z.array(z.string()),
  limit: z.int(),
  offset: z.int(),
  records: z.array(
    z.object({
      check: z.string(),
      agency: z.string(),
      source: z.string(),
      entity: z.string(),
      id: z.string(),
      day: z.string(),
      at: z.string().nullable(),
      detail: z.string(),
      seconds: z.number().nullable(),
    }),
  ),
  next_offset: z.int().nullable().describe('Pass as `offset` for the next page; null on the last.'),
});

/** `GET /v1/data-quality` and `/v1/data-quality/records`: what the sources got wrong. */
export const dataQualityRoute: FastifyPluginAsyncZod<V1RouteOptions> = async (app, options) => {
  const { clickhouse, schemas, v1 } = options;
  app.get(
    '/v1/data-quality',
    {
      ...v1.data,
      schema: {
        summary: 'Data-quality checks over a period',
        description:
          'For the incidents and calls of the agencies asked for whose London day is in from..to (inclusive): how many records each data-quality check flags, in total and per agency and source system. CSV: one line per agency and source.',
        tags: ['data-quality'],
        security,
        querystring: schemas.dataQuality,
        response: {
          200: jsonOrCsv(summaryResponse, 'Counts per check.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { from, to } = request.query;
      const summary = await dataQualitySummary(clickhouse, {
        agencies: v1.agenciesOf(request),
        from,
        to,
      });
      const body = { ...summary, checks: DATA_QUALITY_CHECK_DESCRIPTIONS };
      return v1.answer(request, reply, 'data-quality', body, () => ({
        records: summary.sources.map((entry) => ({
          from,
          to,
          agency: entry.agency,
          source: entry.source,
          ...entry.checks,
        })),
        columns: ['from', 'to', 'agency', 'source', ...DATA_QUALITY_CHECKS],
      }));
    },
  );

  app.get(
    '/v1/data-quality/records',
    {
      ...v1.data,
      schema: {
        summary: 'The records a data-quality check flagged',
        description:
          'The flagged records (incidents and calls) of the agencies asked for whose London day is in from..to (inclusive), of the checks asked for, ordered by day, call time, id, a page at a time: what is wrong, with the times involved and by how many seconds. CSV: one line per record; the next offset is in the X-Next-Offset header.',
        tags: ['data-quality'],
        security,
        querystring: schemas.dataQualityRecords,
        response: {
          200: jsonOrCsv(recordsResponse, 'A page of flagged records.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { from, to, check, limit = DEFAULT_LIMIT, offset = 0 } = request.query;
      const agencies = v1.agenciesOf(request);
      const checks = check ?? [...DATA_QUALITY_CHECKS];
      const page = await dataQualityRecords(clickhouse, {
        agencies,
        from,
        to,
        checks,
        limit,
        offset,
      });
      if (page.nextOffset !== null) reply.header('x-next-offset', String(page.nextOffset));
      const body = {
        period: { from, to },
        agencies: [...agencies].sort(),
        checks,
        limit,
        offset,
        records: page.records,
        next_offset: page.nextOffset,
      };
      return v1.answer(request, reply, 'data-quality-records', body, () => ({
        records: page.records as unknown as Record<string, unknown>[],
        columns: DATA_QUALITY_CSV_COLUMNS,
      }));
    },
  );
};
