import { FILTERS, GROUPINGS, type StandardDefinition } from '@bluelight/standards';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses, jsonOrCsv, security, type V1RouteOptions } from './common.js';

const standardSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  subject: z.enum(['incidents', 'calls', 'availability']),
  description: z.string(),
  source: z.string(),
  groupings: z.array(z.string()).describe('groupBy values this standard takes.'),
  filters: z.array(z.string()).describe('Filter parameters this standard takes.'),
  versions: z.array(
    z
      .looseObject({
        version: z.int(),
        effective_from: z.string(),
        effective_to: z.string().optional(),
        minimum_sample: z.int(),
      })
      .describe('Scope (applies_to), clock, statistic, exclusions, as configured.'),
  ),
});

/** Everything the API says about a standard: its definition and how it may be asked for. */
function describeStandard(standard: StandardDefinition) {
  return {
    id: standard.id,
    name: standard.name,
    subject: standard.subject,
    description: standard.description,
    source: standard.source,
    groupings: [...GROUPINGS[standard.subject]],
    filters: [...FILTERS[standard.subject]],
    versions: standard.versions,
  };
}

/** `GET /v1/standards`: the standards this deployment computes. */
export const standardsRoute: FastifyPluginAsyncZod<V1RouteOptions> = async (app, options) => {
  const { standards, schemas, v1 } = options;
  app.get(
    '/v1/standards',
    {
      ...v1.v1,
      schema: {
        summary: 'Every response standard the API computes',
        description:
          'Each standard with its versions (effective dates, scope, clock, statistic, exclusions, minimum sample) and the groupings and filters /v1/kpis takes for it. CSV: one line per version.',
        tags: ['standards'],
        security,
        querystring: schemas.none,
        response: {
          200: jsonOrCsv(z.object({ standards: z.array(standardSchema) }), 'The standards.'),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const described = standards.map(describeStandard);
      return v1.answer(request, reply, 'standards', { standards: described }, () => ({
        records: described.flatMap(({ versions, groupings, filters, ...standard }) =>
          (versions as Record<string, unknown>[]).map((version) => ({
            ...standard,
            groupings,
            filters,
            ...version,
          })),
        ),
      }));
    },
  );
};
