import { computeKpi } from '@bluelight/standards';
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
      const filters: Record<string, string[]> = {};
      for (const [name, values] of Object.entries(rest)) {
        if (values !== undefined) filters[name] = values as string[];
      }
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
};
