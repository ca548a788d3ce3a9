import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { INCIDENT_CSV_COLUMNS, searchIncidents } from '../incidents.js';
import { INCIDENT_SEARCH_FILTERS } from '../params.js';
import {
  agenciesRead,
  errorResponses,
  jsonOrCsv,
  security,
  type V1RouteOptions,
} from './common.js';

const incidentsResponse = z.object({
  period: z.object({ from: z.string(), to: z.string() }),
  agencies: agenciesRead,
  limit: z.int(),
  incidents: z.array(
    z.looseObject({
      incident_id: z.string(),
      times: z.record(z.string(), z.string().nullable()),
      segments_seconds: z
        .record(z.string(), z.number().nullable())
        .describe('call_handling, turnout, travel, total; null when an end is missing.'),
    }),
  ),
  next_cursor: z
    .string()
    .nullable()
    .describe('Pass as `cursor` for the next page; null on the last.'),
});

/** `GET /v1/incidents`: a page of incidents with their response segments. */
export const incidentsRoute: FastifyPluginAsyncZod<V1RouteOptions> = async (app, options) => {
  const { clickhouse, schemas, v1 } = options;
  app.get(
    '/v1/incidents',
    {
      ...v1.data,
      schema: {
        summary: 'Search incidents',
        description:
          'Incidents of the agencies asked for whose London day is in from..to (inclusive), filtered, ordered by call time then id, a page at a time, with their times and response segments in seconds. CSV: one line per incident; the next cursor is in the X-Next-Cursor header.',
        tags: ['incidents'],
        security,
        querystring: schemas.incidents,
        response: {
          200: jsonOrCsv(incidentsResponse, 'A page of incidents.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const query = request.query;
      const filters: Partial<Record<(typeof INCIDENT_SEARCH_FILTERS)[number], string[]>> = {};
      for (const name of INCIDENT_SEARCH_FILTERS) {
        const values = query[name];
        if (values !== undefined) filters[name] = values;
      }
      const agencies = v1.agenciesOf(request);
      const page = await searchIncidents(clickhouse, {
        agencies,
        from: query.from,
        to: query.to,
        filters,
        ...(query.q !== undefined ? { q: query.q } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
        ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
      });
      if (page.next_cursor) reply.header('x-next-cursor', page.next_cursor);
      const body = {
        period: { from: query.from, to: query.to },
        agencies,
        limit: query.limit ?? 100,
        incidents: page.incidents,
        next_cursor: page.next_cursor,
      };
      return v1.answer(request, reply, 'incidents', body, () => ({
        records: page.incidents,
        columns: INCIDENT_CSV_COLUMNS,
      }));
    },
  );
};
