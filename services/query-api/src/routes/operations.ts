import {
  APPLIANCE_RECORD_COLUMNS,
  type ApplianceGrouping,
  type CommittedElsewhereGrouping,
  type ConcurrencyBucket,
  type ConcurrencyGrouping,
  computeApplianceRecords,
  computeApplianceSegments,
  computeCommittedElsewhere,
  computeConcurrency,
  computeCoverAttendance,
  computeFirstArrivals,
  computeUtilisation,
  coverRecords,
  type FirstArrivalGrouping,
  type UtilisationGrouping,
} from '@bluelight/standards';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  agenciesRead,
  errorResponses,
  jsonOrCsv,
  security,
  type V1RouteOptions,
} from './common.js';

const figureResponse = z.looseObject({
  period: z.object({ from: z.string(), to: z.string() }),
  agencies: agenciesRead,
});

const DEFAULT_SERIES_LIMIT = 1_000;

/** The incident scope of a request: services and station grounds, when given. */
function scopeOf(query: { service?: string[]; station?: string[] }) {
  return {
    ...(query.service !== undefined ? { services: query.service } : {}),
    ...(query.station !== undefined ? { stations: query.station } : {}),
  };
}

/**
 * `GET /v1/operations/*`: the operational figures of docs/operations.md — per-appliance segments,
 * first arrivals, concurrency, stations committed elsewhere, utilisation and on-call cover against
 * attendance — for the agencies asked for, JSON or CSV.
 */
export const operationsRoute: FastifyPluginAsyncZod<V1RouteOptions> = async (app, options) => {
  const { standards, clickhouse, schemas, v1 } = options;
  const operations = schemas.operations;
  const route = (path: string, summary: string, description: string, querystring: z.ZodType) => ({
    path,
    options: {
      ...v1.data,
      schema: {
        summary,
        description: `${description} See docs/operations.md.`,
        tags: ['operations'],
        security,
        querystring,
        response: { 200: jsonOrCsv(figureResponse, summary), ...errorResponses },
      },
    },
  });

  const appliances = route(
    '/v1/operations/appliances',
    'Per-appliance segments',
    'Each appliance’s own turnout, travel and attendance, mobilisations, arrivals, appliances that never arrived, first arrivals and border crossings, for incidents whose London day is in from..to (inclusive), grouped by appliance (default), station of deployment, incident ground, crewing model or type. CSV: one line per group.',
    operations.appliances,
  );
  app.get(appliances.path, appliances.options, async (request, reply) => {
    const query = request.query as z.infer<typeof operations.appliances>;
    const result = await computeApplianceSegments(clickhouse, {
      agencies: v1.agenciesOf(request),
      from: query.from,
      to: query.to,
      ...scopeOf(query),
      ...(query.groupBy ? { groupBy: query.groupBy as ApplianceGrouping } : {}),
    });
    return v1.answer(request, reply, 'operations-appliances', result, () => ({
      records: result.rows,
    }));
  });

  const records = route(
    '/v1/operations/appliances/records',
    'The per-appliance records',
    'The records behind the per-appliance figures: one per appliance mobilised to an incident whose London day is in from..to (inclusive), with its own times and segments, order of arrival, station and border crossing, ordered by call time, a page at a time (limit, cursor; next_cursor, X-Next-Cursor). CSV: one line per record.',
    operations.applianceRecords,
  );
  app.get(records.path, records.options, async (request, reply) => {
    const query = request.query as z.infer<typeof operations.applianceRecords>;
    const page = await computeApplianceRecords(clickhouse, {
      agencies: v1.agenciesOf(request),
      from: query.from,
      to: query.to,
      ...scopeOf(query),
      ...(query.resource ? { resources: query.resource } : {}),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
      ...(query.cursor !== undefined ? { offset: query.cursor } : {}),
    });
    const next = page.next === null ? null : String(page.next);
    if (next) reply.header('x-next-cursor', next);
    const { next: _next, ...rest } = page;
    const body = { ...rest, next_cursor: next };
    return v1.answer(request, reply, 'operations-appliance-records', body, () => ({
      records: page.records,
      columns: [...APPLIANCE_RECORD_COLUMNS],
    }));
  });

  const firstArrivals = route(
    '/v1/operations/first-arrivals',
    'First-arriving appliance by crewing model',
    'For every incident attended (not cancelled), the crewing model of the first appliance to arrive: incidents, share, border crossings and attendance, per group (none, agency or station_ground). CSV: one line per group and crewing model.',
    operations.firstArrivals,
  );
  app.get(firstArrivals.path, firstArrivals.options, async (request, reply) => {
    const query = request.query as z.infer<typeof operations.firstArrivals>;
    const result = await computeFirstArrivals(clickhouse, {
      agencies: v1.agenciesOf(request),
      from: query.from,
      to: query.to,
      ...scopeOf(query),
      ...(query.groupBy ? { groupBy: query.groupBy as FirstArrivalGrouping } : {}),
    });
    return v1.answer(request, reply, 'operations-first-arrivals', result, () => ({
      records: result.rows,
    }));
  });

  const concurrency = route(
    '/v1/operations/concurrency',
    'Incidents in progress at once',
    'Hours with each number of incidents in progress at once (call to closure), the peak, and a series of the peak per UTC hour or London day, per group (none, agency, station_ground, service). The series comes a page at a time (limit, cursor; next_cursor, X-Next-Cursor). CSV: the series page.',
    operations.concurrency,
  );
  app.get(concurrency.path, concurrency.options, async (request, reply) => {
    const query = request.query as z.infer<typeof operations.concurrency>;
    const result = await computeConcurrency(clickhouse, {
      agencies: v1.agenciesOf(request),
      from: query.from,
      to: query.to,
      ...scopeOf(query),
      ...(query.groupBy ? { groupBy: query.groupBy as ConcurrencyGrouping } : {}),
      ...(query.bucket ? { bucket: query.bucket as ConcurrencyBucket } : {}),
    });
    const offset = query.cursor ?? 0;
    const limit = query.limit ?? DEFAULT_SERIES_LIMIT;
    const page = result.series.slice(offset, offset + limit);
    const next = offset + limit < result.series.length ? String(offset + limit) : null;
    if (next) reply.header('x-next-cursor', next);
    const body = { ...result, series: page, limit, next_cursor: next };
    return v1.answer(request, reply, 'operations-concurrency', body, () => ({
      records: page,
      columns: ['group', 'bucket', 'peak'],
    }));
  });

  const committedElsewhere = route(
    '/v1/operations/committed-elsewhere',
    'Incidents begun while the station’s appliances were committed elsewhere',
    'Per group (station_ground by default, none, agency, service): incidents, those in grounds with appliances of their own, those with at least one own appliance committed to another incident at the call, and those where no own appliance was free and one was committed elsewhere. CSV: one line per group.',
    operations.committedElsewhere,
  );
  app.get(committedElsewhere.path, committedElsewhere.options, async (request, reply) => {
    const query = request.query as z.infer<typeof operations.committedElsewhere>;
    const result = await computeCommittedElsewhere(clickhouse, {
      agencies: v1.agenciesOf(request),
      from: query.from,
      to: query.to,
      ...scopeOf(query),
      ...(query.groupBy ? { groupBy: query.groupBy as CommittedElsewhereGrouping } : {}),
    });
    return v1.answer(request, reply, 'operations-committed-elsewhere', result, () => ({
      records: result.rows,
    }));
  });

  const utilisation = route(
    '/v1/operations/utilisation',
    'Unit-hour utilisation',
    'Time committed to incidents over time on the run, from the appliances’ status intervals over London days from..to (inclusive), per appliance (default), station, crewing model or agency, optionally by London hour of week. CSV: one line per group (and hour of week).',
    operations.utilisation,
  );
  app.get(utilisation.path, utilisation.options, async (request, reply) => {
    const query = request.query as z.infer<typeof operations.utilisation>;
    const result = await computeUtilisation(clickhouse, {
      agencies: v1.agenciesOf(request),
      from: query.from,
      to: query.to,
      ...(query.groupBy ? { groupBy: query.groupBy as UtilisationGrouping } : {}),
      byHourOfWeek: query.byHourOfWeek,
      ...(query.crewingModel ? { crewingModels: query.crewingModel } : {}),
    });
    return v1.answer(request, reply, 'operations-utilisation', result, () => ({
      records: result.rows,
    }));
  });

  const cover = route(
    '/v1/operations/cover',
    'Attendance by on-call cover at the call',
    'An incident standard (default the attendance standard) over the incidents in grounds with an on-call appliance, split by whether one was on the run when the call was received: each side’s figure and sample size, and their difference (share within, with a 95% interval, and mean seconds) once both sides have the minimum sample. CSV: one line per station (or all).',
    operations.cover,
  );
  app.get(cover.path, cover.options, async (request, reply) => {
    const query = request.query as z.infer<typeof operations.cover>;
    const result = await computeCoverAttendance(clickhouse, standards, {
      agencies: v1.agenciesOf(request),
      from: query.from,
      to: query.to,
      ...scopeOf(query),
      ...(query.standard ? { standard: query.standard } : {}),
      byStation: query.byStation,
      ...(query.minimumSample !== undefined ? { minimumSample: query.minimumSample } : {}),
    });
    return v1.answer(request, reply, 'operations-cover', result, () => ({
      records: coverRecords(result.differences),
    }));
  });
};
