import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { invalidExamples, validExamples } from './examples.js';
import { acceptWithoutZod, prepareFastValidation } from './fast-validate.js';
import { eventDefinitions } from './registry.js';
import { type ValidateOptions, validateEvent, validateEventWithZod } from './validate.js';

/**
 * The fast path must give zod's verdict: on every input, alone (Ajv and the shared rules, no
 * zod), it vouches for exactly the events zod accepts; and validateEvent's answer, accepted event
 * or refusal, is the one zod alone gives. Inputs are the examples, mutated.
 */

// Per example; FUZZ_RUNS raises it for a longer search.
const RUNS_PER_EXAMPLE = Number(process.env.FUZZ_RUNS ?? 1_000);

type Json = unknown;
type Path = (string | number)[];

/** The clock stands still, so "5 minutes ahead" is the same instant for both validators. */
const NOW = Date.parse('2026-06-15T12:00:00.000Z');
const FIVE_MINUTES = 5 * 60 * 1000;
const DEFAULT_EARLIEST = Date.parse('2000-01-01T00:00:00Z');

beforeAll(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
});
afterAll(() => {
  vi.useRealTimers();
});

/** Every path into a JSON value (objects and arrays), the root excluded. */
function pathsOf(value: Json, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object' || prefix.length >= 6) return [];
  const entries: [string | number, Json][] = Array.isArray(value)
    ? value.map((item, index) => [index, item])
    : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
}

function valueAt(root: Json, path: Path): Json {
  let value = root;
  for (const key of path) value = (value as Record<string | number, Json>)?.[key];
  return value;
}

/** An own property even for `__proto__`, as JSON.parse makes it. */
function setOwn(target: Record<string | number, Json>, key: string | number, value: Json): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function setAt(root: Json, path: Path, value: Json): Json {
  if (path.length === 0) return value;
  const parent = valueAt(root, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return root;
  setOwn(parent as Record<string | number, Json>, path.at(-1) as string | number, value);
  return root;
}

// Read off the examples themselves, not the schemas: where instants, strings and numbers sit.
const INSTANT_SHAPE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/;
const pathsWhere = (event: Json, test: (value: Json) => boolean) =>
  pathsOf(event).filter((path) => test(valueAt(event, path)));

/** An instant `ms` written with an offset of `offsetMinutes` and a fraction of second as given. */
function writeInstant(ms: number, offsetMinutes: number, fraction: string): string {
  if (!Number.isFinite(ms)) return 'not a time';
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const hours = String(Math.floor(Math.abs(offsetMinutes) / 60)).padStart(2, '0');
  const minutes = String(Math.abs(offsetMinutes) % 60).padStart(2, '0');
  return `${local}${fraction}${offsetMinutes === 0 ? 'Z' : `${sign}${hours}:${minutes}`}`;
}

/** Times at the bounds the contract draws: the earliest event time, clock skew, between fields. */
const boundaryTime = fc.record({
  base: fc.constantFrom('earliest', 'now', 'skew', 'occurred', 'occurred+skew', 'default-earliest'),
  deltaMs: fc.constantFrom(0, 0, 1, -1, 999, -1000, 60_000, -60_000, 86_400_000),
  offsetMinutes: fc.constantFrom(0, 0, 60, -60, 330, -330, 23 * 60 + 59, -(23 * 60 + 59)),
  // A fraction shorter than a millisecond is in the value but not the parsed time.
  fraction: fc.constantFrom('', '', '.000', '.5', '.999', '.0001', '.123456789'),
});

const malformedTime = fc.constantFrom(
  '2024-01-12T19:51:05',
  '2024-01-12 19:51:05Z',
  '2024-01-12t19:51:05z',
  '2024-02-30T10:00:00Z',
  '2023-02-29T10:00:00Z',
  '2024-02-29T10:00:00Z',
  '2024-01-12T24:00:00Z',
  '2024-01-12T23:59:60Z',
  '2024-01-12T19:51Z',
  '2024-01-12T19:51:05+0100',
  '2024-01-12T19:51:05+24:00',
  '2024-01-12T19:51:05.Z',
  '+002024-01-12T19:51:05Z',
  '0000-01-01T00:00:00Z',
  '1969-12-31T23:59:59.999Z',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '2024-01-12T19:51:05Z\n',
  '',
);

/** Characters that count differently in UTF-16 units and code points, or break patterns. */
const stringUnit = fc.oneof(
  // Two UTF-16 units, one code point: zod's lengths count units.
  { arbitrary: fc.constantFrom('😀', '𝔸'), weight: 3 },
  {
    arbitrary: fc.constantFrom(
      'a',
      'A',
      '0',
      '-',
      '_',
      '.',
      '/',
      ':',
      ' ',
      'é',
      '\uD800',
      '\uDC00',
      '\u0000',
      '\n',
      'Ａ',
    ),
    weight: 5,
  },
);
/** Around the contract's length limits (1, 3, 16, 32, 64, 500) and twice them. */
const stringLength = fc.constantFrom(
  ...[0, 1, 2, 3, 4, 15, 16, 17, 25, 26, 31, 32, 33, 34, 63, 64, 65, 66, 100, 128, 129],
  ...[499, 500, 501, 502, 1000, 1001],
);

const badId = fc.constantFrom(
  '0194fc3a-8b2f-4c31-9a1e-4f2b6c8d0e11', // UUID v4
  '0194FC3A-8B2F-7C31-9A1E-4F2B6C8D0E11', // upper-case v7: allowed
  '0194fc3a-8b2f-7c31-7a1e-4f2b6c8d0e11', // wrong variant
  '0194fc3a8b2f7c319a1e4f2b6c8d0e11',
  '01HQ3K5V8N2X7Y9Z0A1B2C3D4E', // ULID
  '01hq3k5v8n2x7y9z0a1b2c3d4e', // lower-case ULID: allowed
  '81HQ3K5V8N2X7Y9Z0A1B2C3D4E', // ULID beyond its range
  '01HQ3K5V8N2X7Y9Z0A1B2C3D4I', // I is not Crockford base32
  '01HQ3K5V8N2X7Y9Z0A1B2C3D4',
  '01HQ3K5V8N2X7Y9Z0A1B2C3D4E\n',
  'SFRS-2024-000321',
  'a'.repeat(64),
  'a'.repeat(65),
  'a b',
  '-leading-dash',
  'HAN-P1',
  'C-20240112-004211',
  'X',
);

const oddValue: fc.Arbitrary<Json> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 2 },
  {
    arbitrary: fc.constantFrom<Json>(
      null,
      undefined,
      true,
      false,
      0,
      -0,
      1,
      1.5,
      -1,
      49,
      48.999999,
      61,
      61.000001,
      -9,
      -9.000001,
      2.5,
      2.500001,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1e308,
      '',
      ' ',
      '1',
      [],
      {},
      [1],
    ),
    weight: 3,
  },
);

const knownTypes = eventDefinitions.map((definition) => definition.type);
const someEventType = fc.oneof(
  fc.constantFrom(...knownTypes),
  fc.constantFrom(
    'call.unknown',
    'CALL.PRESENTED',
    ' call.presented',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '',
  ),
  fc.string({ maxLength: 20 }),
);

/** Field names of the contract, so that an added field is sometimes one another type has. */
const knownFieldNames = [
  ...new Set(
    validExamples().flatMap((example) => pathsOf(example.event).map((path) => String(path.at(-1)))),
  ),
];

const mutation = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('replace' as const),
      pick: fc.nat(),
      value: oddValue,
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      pick: fc.nat(),
      key: fc.oneof(
        fc.string({ maxLength: 12 }),
        fc.constantFrom(...knownFieldNames, '__proto__', 'constructor', 'toString'),
      ),
      value: oddValue,
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('retype' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('undefine' as const), pick: fc.nat() }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant('reorder' as const), pick: fc.nat(), seed: fc.nat() }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('time' as const),
      pick: fc.nat(),
      time: boundaryTime,
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('malformed-time' as const),
      pick: fc.nat(),
      value: malformedTime,
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('string' as const),
      pick: fc.nat(),
      unit: stringUnit,
      length: stringLength,
      keepValue: fc.boolean(),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('id' as const), pick: fc.nat(), value: badId }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('self-correction' as const), upper: fc.boolean() }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ kind: fc.constant('event-type' as const), value: someEventType }),
    weight: 1,
  },
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function pick<T>(items: T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

function mutate(event: Json, change: Mutation, earliest: number): Json {
  if (event === null || typeof event !== 'object') return event;
  const record = event as Record<string, Json>;
  switch (change.kind) {
    case 'delete': {
      const path = pick(pathsOf(event), change.pick);
      if (!path) return event;
      const parent = valueAt(event, path.slice(0, -1)) as Record<string | number, Json>;
      if (Array.isArray(parent)) parent.splice(Number(path.at(-1)), 1);
      else delete parent[path.at(-1) as string];
      return event;
    }
    case 'replace': {
      const path = pick(pathsOf(event), change.pick);
      return path ? setAt(event, path, structuredClone(change.value)) : event;
    }
    case 'add': {
      const objects = [[], ...pathsOf(event)].filter((path) => {
        const value = valueAt(event, path);
        return value !== null && typeof value === 'object' && !Array.isArray(value);
      });
      const target = valueAt(event, pick(objects, change.pick) ?? []) as Record<string, Json>;
      setOwn(target, change.key, structuredClone(change.value));
      return event;
    }
    case 'retype': {
      const path = pick(pathsOf(event), change.pick);
      if (!path) return event;
      const current = valueAt(event, path);
      // An object gets its JSON text: String() would call its (possibly replaced) toString.
      const retyped =
        typeof current === 'string'
          ? Number(current) || [current]
          : typeof current === 'object' && current !== null
            ? JSON.stringify(current)
            : String(current);
      return setAt(event, path, retyped);
    }
    case 'undefine': {
      const path = pick(pathsOf(event), change.pick);
      return path ? setAt(event, path, undefined) : event;
    }
    case 'reorder': {
      // The same fields in another order: zod's output has the schema's order whatever the input's.
      const objects = [[], ...pathsOf(event)].filter((path) => {
        const value = valueAt(event, path);
        return value !== null && typeof value === 'object' && !Array.isArray(value);
      });
      const path = pick(objects, change.pick) ?? [];
      const target = valueAt(event, path) as Record<string, Json>;
      const entries = Object.entries(target);
      const rotated = entries.map((_, index) => entries[(index + change.seed) % entries.length]);
      const reordered: Record<string, Json> = {};
      for (const entry of rotated.reverse()) if (entry) setOwn(reordered, entry[0], entry[1]);
      return setAt(event, path, reordered);
    }
    case 'time': {
      const path = pick(
        pathsWhere(event, (value) => typeof value === 'string' && INSTANT_SHAPE.test(value)),
        change.pick,
      );
      if (!path) return event;
      const occurred =
        typeof record.occurred_at === 'string' ? Date.parse(record.occurred_at) : Number.NaN;
      const base = {
        earliest,
        now: NOW,
        skew: NOW + FIVE_MINUTES,
        occurred,
        'occurred+skew': occurred + FIVE_MINUTES,
        'default-earliest': DEFAULT_EARLIEST,
      }[change.time.base];
      const value = writeInstant(
        base + change.time.deltaMs,
        change.time.offsetMinutes,
        change.time.fraction,
      );
      return setAt(event, path, value);
    }
    case 'malformed-time': {
      const path = pick(
        pathsWhere(event, (value) => typeof value === 'string' && INSTANT_SHAPE.test(value)),
        change.pick,
      );
      return path ? setAt(event, path, change.value) : event;
    }
    case 'string': {
      const path = pick(
        pathsWhere(event, (value) => typeof value === 'string'),
        change.pick,
      );
      if (!path) return event;
      const current = String(valueAt(event, path));
      const grown = change.keepValue
        ? `${current}${change.unit.repeat(Math.max(0, change.length - current.length))}`
        : change.unit.repeat(change.length);
      // Cut in UTF-16 units: an astral character may be split, leaving a lone surrogate.
      return setAt(event, path, grown.slice(0, Math.max(change.length, 0)));
    }
    case 'id': {
      const ids = pathsWhere(event, (value) => typeof value === 'string').filter((path) =>
        /(^|_)id$/.test(String(path.at(-1))),
      );
      const path = pick(ids, change.pick);
      return path ? setAt(event, path, change.value) : event;
    }
    case 'self-correction': {
      const id = typeof record.event_id === 'string' ? record.event_id : '';
      setOwn(record, 'corrects', {
        event_id: change.upper ? id.toUpperCase() : id,
        reason: 'duplicate of itself',
      });
      return event;
    }
    case 'event-type':
      setOwn(record, 'event_type', change.value);
      return event;
  }
}

/** An earliest event time for the call: the default, or one at an example's own instants. */
function earliestChoices(event: Json): fc.Arbitrary<number | undefined> {
  const instants = pathsWhere(
    event,
    (value) => typeof value === 'string' && INSTANT_SHAPE.test(value),
  ).map((path) => Date.parse(String(valueAt(event, path))));
  return fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(Date.parse('1970-01-01T00:00:00Z'), Date.parse('2024-01-01T00:00:00Z')),
    ...(instants.length > 0
      ? [fc.tuple(fc.constantFrom(...instants), fc.constantFrom(0, 1, -1)).map(([at, d]) => at + d)]
      : []),
  );
}

const examples = [
  ...validExamples().map((example) => ({
    label: `valid ${example.eventType}/${example.name}`,
    event: example.event,
  })),
  ...invalidExamples().map((example) => ({
    label: `invalid ${example.name}`,
    event: example.event,
  })),
];

/** One input through both validators: the same verdict, the same answer, the input untouched. */
function expectSameVerdict(input: Json, earliestMs: number | undefined): boolean {
  const options: ValidateOptions =
    earliestMs === undefined ? {} : { earliestEventTime: new Date(earliestMs) };
  const before = JSON.stringify(input);
  const byZod = validateEventWithZod(input, options);
  const alone = acceptWithoutZod(input, options.earliestEventTime ?? new Date(DEFAULT_EARLIEST));
  const answer = validateEvent(input, options);

  expect(alone !== undefined, 'the fast path alone vouches for exactly what zod accepts').toBe(
    byZod.ok,
  );
  expect(answer).toStrictEqual(byZod);
  if (answer.ok && byZod.ok) {
    // toStrictEqual ignores key order; the event as written to Kafka must not.
    expect(JSON.stringify(answer.event)).toBe(JSON.stringify(byZod.event));
    expect(answer.event).not.toBe(input);
  }
  expect(JSON.stringify(input), 'validation leaves its input alone').toBe(before);
  return byZod.ok;
}

describe('the fast path', () => {
  it('compiles every event type', () => {
    expect(prepareFastValidation()).toEqual([]);
  });

  it.each(validExamples().map((example) => [`${example.eventType}/${example.name}`, example]))(
    'vouches on its own for the valid example %s, returning what zod returns',
    (_label, example) => {
      const event = acceptWithoutZod(example.event, new Date(DEFAULT_EARLIEST));
      const byZod = validateEventWithZod(example.event);
      expect(byZod.ok).toBe(true);
      expect(event).toStrictEqual(byZod.ok ? byZod.event : undefined);
    },
  );

  let accepted = 0;
  let refused = 0;
  it.each(examples.map((example) => [example.label, example] as const))(
    `gives zod's verdict and answer for ${RUNS_PER_EXAMPLE} mutations of the %s example`,
    (_label, example) => {
      fc.assert(
        fc.property(
          fc.array(mutation, { maxLength: 3 }),
          earliestChoices(example.event),
          (changes, earliestMs) => {
            const earliest = earliestMs ?? DEFAULT_EARLIEST;
            const input = changes.reduce<Json>(
              (value, change) => mutate(value, change, earliest),
              structuredClone(example.event),
            );
            if (expectSameVerdict(input, earliestMs)) accepted += 1;
            else refused += 1;
          },
        ),
        { numRuns: RUNS_PER_EXAMPLE },
      );
    },
    60_000,
  );

  it('was shown many valid and many invalid events', () => {
    // Both sides were exercised: the mutations leave many events valid and make many invalid.
    const total = examples.length * RUNS_PER_EXAMPLE;
    expect(accepted + refused).toBe(total);
    expect(accepted).toBeGreaterThan(total * 0.05);
    expect(refused).toBeGreaterThan(total * 0.3);
    console.info(
      `fast path vs zod: ${total} mutated examples (${examples.length} examples × ${RUNS_PER_EXAMPLE}), ${accepted} valid, ${refused} refused; the same verdict and answer for each`,
    );
  });

  it('agrees with zod on things that are not events at all', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }), oddValue), (input) => {
        expectSameVerdict(input, undefined);
      }),
      { numRuns: 2_000 },
    );
  });
});
