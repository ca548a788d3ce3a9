import { annualReport, reportLines } from '@bluelight/standards';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  agenciesRead,
  errorResponses,
  jsonOrCsv,
  security,
  type V1RouteOptions,
} from './common.js';

const reportResponse = z.looseObject({
  agencies: agenciesRead,
  current: z.looseObject({ period: z.object({ from: z.string(), to: z.string() }) }),
  previous: z.looseObject({ period: z.object({ from: z.string(), to: z.string() }) }).nullable(),
  // The "Appliances and cover" section (docs/operations.md#in-the-annual-report).
  operations: z.looseObject({ title: z.string() }),
  lines: z.array(
    z.object({
      key: z.string(),
      label: z.string(),
      unit: z.string(),
      value: z.number().nullable(),
      previous: z.number().nullable(),
      target: z.number().nullable(),
    }),
  ),
});

/** `GET /v1/reports/annual`: the annual report's figures, optionally beside the previous period's. */
export const reportsRoute: FastifyPluginAsyncZod<V1RouteOptions> = async (app, options) => {
  const { standards, clickhouse, schemas, v1 } = options;
  app.get(
    '/v1/reports/annual',
    {
      ...v1.data,
      schema: {
        summary: 'The annual report',
        description:
          'The annual report’s figures of the agencies asked for (together) for London days from..to (inclusive), each from the standard that defines it, and with comparePrevious=true the previous period of the same length beside them. CSV: the report’s table lines.',
        tags: ['reports'],
        security,
        querystring: schemas.report,
        response: { 200: jsonOrCsv(reportResponse, 'The report.'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { from, to, comparePrevious } = request.query;
      const report = await annualReport(
        clickhouse,
        standards,
        { from, to },
        v1.agenciesOf(request),
        { comparePrevious },
      );
      const lines = reportLines(report);
      return v1.answer(request, reply, 'annual-report', { ...report, lines }, () => ({
        records: lines as unknown as Record<string, unknown>[],
        columns: ['key', 'label', 'unit', 'value', 'previous', 'target'],
      }));
    },
  );
};
