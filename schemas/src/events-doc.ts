import {
  DEFAULT_EARLIEST_EVENT_TIME,
  LOWEST_EARLIEST_EVENT_TIME,
  MAX_FUTURE_SKEW_MS,
} from './common.js';
import { eventJsonSchema, type JsonSchema } from './json-schema.js';
import { eventDefinitions, topics } from './registry.js';

interface FieldRow {
  path: string;
  type: string;
  required: string;
  description: string;
}

const asSchema = (value: unknown): JsonSchema => (value ?? {}) as JsonSchema;
const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function describeType(schema: JsonSchema): string {
  if ('const' in schema) return `\`${JSON.stringify(schema.const)}\``;
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => `\`${value}\``).join(' \\| ');
  const variants = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (variants) return 'one of (see below)';
  if (schema.type === 'string' && schema.format === 'date-time') return 'date-time with offset';
  if (schema.type === 'string') return schema.pattern ? 'string (pattern)' : 'string';
  if (schema.type === 'number' || schema.type === 'integer') {
    const range = [schema.minimum, schema.maximum].every((bound) => typeof bound === 'number');
    return range ? `${schema.type} ${schema.minimum}…${schema.maximum}` : String(schema.type);
  }
  return String(schema.type ?? 'any');
}

/** The discriminating property of a union variant: the one with a `const`. */
function discriminator(variant: JsonSchema): [string, unknown] | undefined {
  const properties = asSchema(variant.properties);
  for (const [name, property] of Object.entries(properties)) {
    if ('const' in asSchema(property)) return [name, asSchema(property).const];
  }
  return undefined;
}

function fieldRows(schema: JsonSchema, prefix: string, condition: string): FieldRow[] {
  const variants = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (variants) {
    return variants.flatMap((variant) => {
      const found = discriminator(variant);
      const when = found ? `${prefix}${found[0]} = ${JSON.stringify(found[1])}` : 'a variant';
      return fieldRows(variant, prefix, condition ? `${condition}; ${when}` : when);
    });
  }
  const properties = asSchema(schema.properties);
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(properties).flatMap(([name, value]) => {
    const property = asSchema(value);
    const path = `${prefix}${name}`;
    const row: FieldRow = {
      path,
      type: describeType(property),
      required: `${required.has(name) ? 'yes' : 'no'}${condition ? ` (when ${condition})` : ''}`,
      description: typeof property.description === 'string' ? property.description : '',
    };
    const nested =
      property.type === 'object' || property.oneOf || property.anyOf
        ? fieldRows(property, `${path}.`, condition)
        : [];
    return [row, ...nested];
  });
}

const formatDays = (ms: number) => `${Math.round(ms / 86_400_000)} days`;

/** docs/events.md, generated from the contract so it cannot drift from it. */
export function renderEventsDoc(): string {
  const lines: string[] = [
    '# Events',
    '',
    '<!-- Generated from schemas/src by `npm run generate -w @bluelight/schemas`; a test fails when it is out of date. -->',
    '',
    'Every event has the same envelope around a payload that depends on `event_type`. The zod',
    'schemas in `schemas/src` are the source of truth; JSON Schema (draft 2020-12) for producers in',
    'other languages is in `schemas/json/`, and examples of every type are in `schemas/examples/`.',
    'Rules JSON Schema cannot state (comparisons with the clock or between fields) are listed per type',
    'and enforced by `validateEvent` (the ingest gateway, the sink and importers).',
    '',
    'Timestamps carry an offset and are stored as UTC; days and months are bucketed in Europe/London.',

    'A later event may correct an earlier one: it names it in `corrects` and replaces it in every figure;',
    'a `*.event_retracted` event removes an earlier event altogether.',
    '',
    `**Event time bounds.** Every event time (\`occurred_at\`, \`payload.call_received_at\`) is at most`,
    `${MAX_FUTURE_SKEW_MS / 60_000} minutes in the future (clock skew) and not before the earliest event time: \`${DEFAULT_EARLIEST_EVENT_TIME}\` unless`,
    'the deployment sets `EARLIEST_EVENT_TIME` (an ISO date-time with an offset, from',
    `\`${LOWEST_EARLIEST_EVENT_TIME}\` up to now; read and checked at start-up by the ingest gateway, the sink, \`bluelight import\``,
    'and `bluelight simulate`, and passed to `validateEvent`). The default is old enough for any',
    'back-fill a service will do (CAD and telephony exports go back years, not decades) and later than',
    "anything ClickHouse's types cannot hold (`DateTime64` from 1900, the `Date` of the day buckets from",
    '1970): a date of 1900 or 1970 is a producer parsing an empty date, not an event. The gateway',
    'refuses such an event in its per-event results, naming the field (e.g. `occurred_at`), and',
    'accepts the events beside it; the sink dead-letters it as a contract error.',
    '',
    '## How events are checked',
    '',
    '`validateEvent` (the gateway, the sink, `bluelight import`, dead-letter replay) tries a fast path',
    'first: Ajv checks the event against the JSON Schema of its `event_type` (generated from the zod',
    'schemas, as in `schemas/json/`; compiled once per type, at start-up in the gateway and the sink),',
    'then the rules JSON Schema cannot state run — the earliest event time on every `date-time` field,',
    "the envelope's rules and the type's own, through the very functions the zod refinements call —",
    "and the event comes back as zod returns it (a copy, fields in the schema's order; the contract has",
    'no defaults or transforms). Whatever the fast path does not vouch for is parsed by zod, so a',
    'refusal names the same field paths with the same messages. `schemas/src/fast-validate.test.ts`',
    "mutates every example a thousand ways and checks that the fast path alone gives zod's verdict and",
    "`validateEvent` zod's answer; `npm run bench:validation` measures both (figures in",
    '[benchmarks.md](benchmarks.md)).',
    '',
    '## Topics',
    '',
    '| topic | key | partitions | retention | dead-letter topic | producers | consumers |',
    '|---|---|---|---|---|---|---|',
    ...topics.map(
      (topic) =>
        `| \`${topic.name}\` | \`${topic.key.field}\` — ${cell(topic.key.why)} | ${topic.partitions} | ${formatDays(topic.retentionMs)} | \`${topic.deadLetter.name}\` (${formatDays(topic.deadLetter.retentionMs)}) | ${cell(topic.producers.join(', '))} | ${cell(topic.consumers.join(', '))} |`,
    ),
    '',
    'Example events per topic (paths relative to `schemas/`):',
    '',
    // Links are relative to docs/, where this file lives.
    ...topics.map(
      (topic) =>
        `- \`${topic.name}\`: ${topic.examples.map((example) => `[\`${example}\`](../schemas/${example})`).join(', ')}`,
    ),
    '',
    '## Event types',
    '',
    '| event type | topic | partition key | meaning | figures that use it |',
    '|---|---|---|---|---|',
    ...eventDefinitions.map((definition) => {
      const topic = topics.find((candidate) => candidate.family === definition.family);
      return `| [\`${definition.type}\`](#${definition.type.replaceAll('.', '')}) | \`${topic?.name}\` | \`agency/payload.${definition.keyField}\` | ${cell(definition.description)} | ${cell(definition.figures.join('; '))} |`;
    }),
    '',
  ];
  for (const definition of eventDefinitions) {
    const schema = eventJsonSchema(definition.type);
    lines.push(
      `### ${definition.type}`,
      '',
      definition.description,
      '',
      `Partition key: \`agency/payload.${definition.keyField}\`. Used by: ${definition.figures.join('; ')}.`,
      '',
      '| field | type | required | meaning |',
      '|---|---|---|---|',
      ...fieldRows(schema, '', '').map(
        (row) =>
          `| \`${row.path}\` | ${row.type} | ${cell(row.required)} | ${cell(row.description)} |`,
      ),
      '',
      'Rules beyond the JSON Schema:',
      '',
      ...definition.contextualRules.map((rule) => `- ${rule}`),
      '',
    );
  }
  return `${lines.join('\n')}`;
}
