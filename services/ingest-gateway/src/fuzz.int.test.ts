import { validExamples } from '@bluelight/schemas';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEventId } from './testing/events.js';
import { landed, startTestGateway } from './testing/gateway-harness.js';

const REQUESTS = 110;
const PAYLOADS_PER_REQUEST = 100;

type Json = unknown;
type Path = (string | number)[];

/** Every path into a JSON value (objects and arrays) as deep as an event goes, the root excluded. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object' || prefix.length >= 6) return [];
  const entries: [string | number, Json][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

function parentAndKey(
  root: Json,
  path: Path,
): { parent: Record<string | number, Json>; key: string | number } {
  let parent = root as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  return { parent, key: path.at(-1) as string | number };
}

/** An own property even for `__proto__`, as JSON.parse makes it on the gateway's side. */
function setOwn(target: Record<string | number, Json>, key: string | number, value: Json): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

const hugeString = fc
  .tuple(
    fc.constantFrom('x', 'é', '😀', '\u0000', '"', '\\'),
    fc.integer({ min: 1_000, max: 60_000 }),
  )
  .map(([unit, count]) => unit.repeat(count));

const deepNesting = fc.integer({ min: 10, max: 2_000 }).map((depth) => {
  let value: Json = 'bottom';
  for (let level = 0; level < depth; level += 1)
    value = level % 2 === 0 ? [value] : { deeper: value };
  return value;
});

/** Values that do not belong where they land: wrong types, odd strings, huge, deep. */
const oddValue: fc.Arbitrary<Json> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 80 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 80 }), weight: 2 },
  {
    arbitrary: fc.constantFrom<Json>(
      null,
      true,
      false,
      0,
      -1,
      1e308,
      2.5,
      '',
      ' ',
      [],
      {},
      '2024-13-45T25:61:00Z',
    ),
    weight: 2,
  },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: deepNesting, weight: 1 },
);

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: oddValue }),
  fc.record({
    kind: fc.constant('add' as const),
    pick: fc.nat(),
    key: fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom('__proto__', 'constructor', 'prototype'),
    ),
    value: oddValue,
  }),
  fc.record({ kind: fc.constant('retype' as const), pick: fc.nat() }),
);

type Mutation = fc.Arbitrary<typeof mutation extends fc.Arbitrary<infer M> ? M : never>;

function mutate(event: Json, change: Mutation extends fc.Arbitrary<infer M> ? M : never): Json {
  const paths = pathsOf(event);
  const path = paths[change.pick % Math.max(paths.length, 1)];
  if (!path) return change.kind === 'replace' ? structuredClone(change.value) : event;
  const { parent, key } = parentAndKey(event, path);
  switch (change.kind) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else delete parent[key];
      break;
    case 'replace':
      setOwn(parent, key, structuredClone(change.value));
      break;
    case 'add': {
      const target = parent[key];
      // Cloned: fast-check hands out the same instance more than once (constants, shrinking).
      const value = structuredClone(change.value);
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) {
        setOwn(target as Record<string, Json>, change.key, value);
      } else {
        setOwn(parent, key, { [change.key]: value });
      }
      break;
    }
    case 'retype': {
      const current = parent[key];
      setOwn(
        parent,
        key,
        typeof current === 'string' ? Number(current) || [current] : String(current),
      );
      break;
    }
  }
  return event;
}

const examples = validExamples().map((example) => example.event);

/** A valid example, sometimes under a new id, with up to three mutations. */
const mutatedExample = fc
  .record({
    base: fc.constantFrom(...examples),
    newId: fc.boolean(),
    changes: fc.array(mutation, { maxLength: 3 }),
  })
  .map(({ base, newId, changes }) => {
    const event = structuredClone(base) as Record<string, Json>;
    if (newId) event.event_id = newEventId();
    return changes.reduce<Json>((value, change) => mutate(value, change), event);
  });

/** One item of a request: a JSON value, or (NDJSON only) a raw line that may not be JSON. */
const item = fc.oneof(
  { arbitrary: mutatedExample.map((value) => ({ value })), weight: 12 },
  { arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => ({ value })), weight: 3 },
  { arbitrary: oddValue.map((value) => ({ value })), weight: 1 },
  {
    arbitrary: fc.string({ maxLength: 60 }).map((raw) => ({ raw: raw.replaceAll('\n', ' ') })),
    weight: 1,
  },
);

const request = fc.record({
  format: fc.constantFrom('json' as const, 'ndjson' as const),
  items: fc.array(item, { minLength: PAYLOADS_PER_REQUEST, maxLength: PAYLOADS_PER_REQUEST }),
});

interface FieldError {
  path: unknown;
  message: unknown;
}

function expectNamedErrors(errors: FieldError[]) {
  expect(errors.length).toBeGreaterThan(0);
  for (const error of errors) {
    expect(typeof error.path === 'string' && error.path.length > 0, JSON.stringify(error)).toBe(
      true,
    );
    expect(
      typeof error.message === 'string' && error.message.length > 0,
      JSON.stringify(error),
    ).toBe(true);
  }
}

describe('fuzzing POST /v1/events', () => {
  let gateway: Awaited<ReturnType<typeof startTestGateway>>;
  beforeAll(async () => {
    gateway = await startTestGateway({
      env: { GATEWAY_RATE_LIMIT_EVENTS_PER_SECOND: '1000000', GATEWAY_RATE_LIMIT_BURST: '1000000' },
    });
  });
  afterAll(async () => {
    await gateway?.cleanup();
  });

  it(`never answers 5xx to ${REQUESTS * PAYLOADS_PER_REQUEST} random and mutated payloads; every rejection says what is wrong`, async () => {
    const statuses = new Map<number, number>();
    const producedIds: string[] = [];
    let payloads = 0;
    await fc.assert(
      fc.asyncProperty(request, async ({ format, items }) => {
        const lines = items.map((entry) =>
          'raw' in entry ? entry.raw : JSON.stringify(entry.value),
        );
        const body =
          format === 'json'
            ? `[${items.map((entry) => JSON.stringify('raw' in entry ? entry.raw : entry.value)).join(',')}]`
            : lines.join('\n');
        const expectedEvents =
          format === 'json' ? items.length : lines.filter((line) => line.trim() !== '').length;
        payloads += items.length;

        const response = await gateway.post([], { format, body });
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        expect(response.statusCode).toBeLessThan(500);
        const answer = response.json();
        if (response.statusCode !== 200) {
          expect([400, 403, 413]).toContain(response.statusCode);
          expect(typeof answer.error === 'string' && answer.error.length > 0).toBe(true);
          expect(typeof answer.message === 'string' && answer.message.length > 0).toBe(true);
          for (const rejection of answer.rejected ?? []) expectNamedErrors(rejection.errors);
          return;
        }
        expect(answer.summary.received).toBe(expectedEvents);
        const indexes = [...answer.accepted, ...answer.rejected]
          .map((result: { index: number }) => result.index)
          .sort((a: number, b: number) => a - b);
        expect(indexes).toEqual(Array.from({ length: expectedEvents }, (_, index) => index));
        for (const rejection of answer.rejected) expectNamedErrors(rejection.errors);
        for (const accepted of answer.accepted) {
          if (!accepted.duplicate) producedIds.push(accepted.event_id);
        }
      }),
      // No shrinking: each step would be another request against Kafka; the failing case is printed.
      { numRuns: REQUESTS, endOnFailure: true },
    );

    expect(payloads).toBeGreaterThanOrEqual(10_000);
    // Still alive and working.
    expect((await gateway.app().inject({ url: '/healthz' })).statusCode).toBe(200);
    // What was reported accepted (and not a duplicate) is on Kafka exactly once; nothing else is.
    const onKafka = (await gateway.readAll()).map((message) => landed(message).event.event_id);
    expect(onKafka.sort()).toEqual([...producedIds].sort());
    expect(new Set(producedIds).size).toBe(producedIds.length);
    console.info(
      `fuzz: ${payloads} payloads in ${REQUESTS} requests; statuses ${JSON.stringify(Object.fromEntries(statuses))}; ${producedIds.length} events produced`,
    );
  });
});
