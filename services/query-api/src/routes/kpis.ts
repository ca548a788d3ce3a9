import { computeKpi, computeKpiRecords } from '@bluelight/standards';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  agenciesRead,
  errorResponses,
  jsonOrCsv,
  security,
  type V1RouteOptions,
} from './common.js';

const kpiResponse = z.looseObject({
  standard: z.looseObject({ id: z.string(), subject: z.string() }),
  period: z.object({ from: z.string(), to: z.string() }),
  agencies: agenciesRead,
  groupBy: z.string(),
  filters: z.record(z.string(), z.array(z.string())),
  versions: z.array(z.object({ version: z.int(), from: z.string(), to: z.string() })),
  target: z.looseObject({ statistic: z.string() }),
  minimumSample: z.int(),
  rows: z.array(z.looseObject({ group: z.string() })),
});

const recordsResponse = z.looseObject({
  standard: z.looseObject({ id: z.string(), subject: z.string() }),
  period: z.object({ from: z.string(), to: z.string() }),
  agencies: agenciesRead,
  filters: z.record(z.string(), z.array(z.string())),
  only: z.string(),
  columns: z.array(z.string()),
  total: z.int(),
  offset: z.int(),
  limit: z.int(),
  records: z.array(z.looseObject({ agency: z.string() })),
  next_cursor: z.string().nullable(),
});

/** The figure's filters from a KPI query string: every parameter but the named ones. */
function filtersOf(rest: Record<string, unknown>): Record<string, string[]> {
  const filters: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(rest)) {
    if (values !== undefined) filters[name] = values as string[];
  }
  return filters;
}

/** Calls-standard rows carry band counts as a list; CSV names each band by its bounds. */
function bandColumns(bandsSeconds: number[], bands: number[]): Record<string, number> {
  const columns: Record<string, number> = {};
  bands.forEach((count, index) => {
    const low = bandsSeconds[index - 1];
    const high = bandsSeconds[index];
    // Each band ends at its bound inclusive, as the standard's "within" (≤) does.
    const name =
      low === undefined
        ? `up_to_${high}s`
        : high === undefined
          ? `over_${low}s`
          : `over_${low}s_to_${high}s`;
    columns[name] = count;
  });
  return columns;
}

/** `GET /v1/kpis`: one standard over a period, grouped and filtered. */
export const kpisRoute: FastifyPluginAsyncZod<V1RouteOptions> = async (app, options) => {
  const { standards, clickhouse, schemas, v1 } = options;
  app.get(
    '/v1/kpis',
    {
      ...v1.data,
      schema: {
        summary: 'Compute a standard over a period',
        description:
          'The standard over London days from..to (inclusive) from the rows of the agencies asked for (together; groupBy=agency to split them), with the version(s) in force on each day, optionally grouped and filtered. CSV: one line per row (group).',
        tags: ['kpis'],
        security,
        querystring: schemas.kpis,
        response: {
          200: jsonOrCsv(kpiResponse, 'The figure, one row per group.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { standard, from, to, groupBy, agency: _agency, ...rest } = request.query;
      const filters = filtersOf(rest);
      const result = await computeKpi(clickhouse, standards, {
        standard,
        agencies: v1.agenciesOf(request),
        from,
        to,
        ...(groupBy !== undefined ? { groupBy } : {}),
        filters,
      });
      return v1.answer(request, reply, 'kpis', result, () => ({
        records: result.rows.map((row) => {
          const { bands, ...others } = row as Record<string, unknown> & { bands?: number[] };
          return {
            standard: result.standard.id,
            agencies: result.agencies,
            from: result.period.from,
            to: result.period.to,
            groupBy: result.groupBy,
            ...others,
            ...(bands !== undefined && 'bandsSeconds' in result
              ? { bands: bandColumns(result.bandsSeconds, bands) }
              : {}),
          };
        }),
      }));
    },
  );

  app.get(
    '/v1/kpis/records',
    {
      ...v1.data,
      schema: {
        summary: 'The records behind a figure',
        description:
          'Each incident (or call) an incident or call standard judged over London days from..to (inclusive), for the agencies asked for and with the same filters as /v1/kpis: in scope, cancelled, measured, seconds, threshold, excluded with its primary reason and every reason it matched, included in the figure, met. Counting them gives the figure. Ordered by London day, call time, agency and id; a page at a time (limit, cursor; next_cursor, X-Next-Cursor); `only` selects some. CSV: one line per record, fixed columns. See docs/standards.md.',
        tags: ['kpis'],
        security,
        querystring: schemas.kpiRecords,
        response: {
          200: jsonOrCsv(recordsResponse, 'A page of the records.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { standard, from, to, only, limit, cursor, agency: _agency, ...rest } = request.query;
      const page = await computeKpiRecords(clickhouse, standards, {
        standard,
        agencies: v1.agenciesOf(request),
        from,
        to,
        filters: filtersOf(rest),
        ...(only !== undefined ? { only } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(cursor !== undefined ? { offset: cursor } : {}),
      });
      const next = page.next === null ? null : String(page.next);
      if (next) reply.header('x-next-cursor', next);
      const { next: _next, ...shown } = page;
      const body = { ...shown, next_cursor: next };
      return v1.answer(request, reply, `${page.standard.id}-records`, body, () => ({
        records: page.records,
        columns: page.columns,
      }));
    },
  );
};
