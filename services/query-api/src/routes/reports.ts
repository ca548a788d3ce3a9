import { productVersion, reportDocument } from '@bluelight/dashboards/report-document';
import { annualReport, isPeriodDay, previousPeriod, reportLines } from '@bluelight/standards';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { preferredType } from '../csv.js';
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

/** What the report is offered as: HTML only when asked for ahead of JSON and CSV. */
const DOCUMENT_TYPES = ['application/json', 'text/csv', 'text/html'];

/** A 200 answer's content types with the HTML document beside JSON and CSV. */
function withHtml<Answer extends { content: Record<string, unknown> }>(answer: Answer) {
  return {
    ...answer,
    content: {
      ...answer.content,
      'text/html': {
        schema: z
          .string()
          .describe(
            'The annual report as one self-contained, printable (A4) HTML document: the table beside the previous year and the targets, charts as SVG, appendices (docs/report.md).',
          ),
      },
    },
  };
}

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
        response: {
          200: withHtml(
            jsonOrCsv(
              reportResponse,
              'The report (JSON; CSV: its table lines; HTML: the printable document with charts).',
            ),
          ),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const { from, to, comparePrevious } = request.query;
      if (preferredType(request.headers.accept, DOCUMENT_TYPES) === 'text/html') {
        // The document: the previous period beside it wherever there is one, and the charts.
        const charted = await annualReport(
          clickhouse,
          standards,
          { from, to },
          v1.agenciesOf(request),
          { comparePrevious: isPeriodDay(previousPeriod({ from, to }).from), charts: true },
        );
        const html = await reportDocument(charted as Parameters<typeof reportDocument>[0], {
          standards,
          generatedAt: new Date(),
          productVersion: productVersion(),
        });
        return reply
          .code(200)
          .header('content-type', 'text/html; charset=utf-8')
          .header('content-disposition', `inline; filename="annual-report-${from}-${to}.html"`)
          .send(html);
      }
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
