/**
 * µs per event for checking events against the contract: zod alone (validateEventWithZod) vs
 * validateEvent (the fast path, falling back to zod only for what it does not vouch for), over
 * the valid examples of every event type, then over a simulated week of the county's traffic
 * (the mix the sink sees). Each event is JSON.parse'd afresh per check, as the sink and the
 * gateway see them; the time of JSON.parse alone is measured too and taken off.
 *
 *   npm run bench:validation [-- --rounds 15 --events 40000]
 *
 * Rounds interleave the three measurements so that load from other jobs on these shared
 * machines falls on all of them alike; the median round is reported.
 */
import { parseArgs } from 'node:util';
import { decodeBatch, FAMILIES } from '@bluelight/clickhouse-sink';
import { topicFor, validateEvent, validateEventWithZod, validExamples } from '@bluelight/schemas';
import { STAFFORDSHIRE_2023_24, simulate } from '@bluelight/simulator';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    events: { type: 'string', default: '40000' },
  },
});
const rounds = Number(values.rounds);
const eventsPerRound = Number(values.events);

type Check = (event: unknown) => { ok: boolean };
const checks: Record<string, Check> = {
  'JSON.parse only': () => ({ ok: true }),
  zod: (event) => validateEventWithZod(event),
  'fast path': (event) => validateEvent(event),
};

/** µs per event for one pass of `count` events through `check`, JSON.parse included. */
function pass(texts: string[], check: Check, count: number): number {
  let refused = 0;
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index += 1) {
    if (!check(JSON.parse(texts[index % texts.length] as string)).ok) refused += 1;
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1000;
  if (refused > 0) throw new Error(`${refused} valid events refused`);
  return elapsed / count;
}

const median = (numbers: number[]) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const format = (microseconds: number) => microseconds.toFixed(2);

function measure(what: string, texts: string[]): void {
  // Warm-up: every type compiled (fast path) and every function optimised before timing.
  for (const check of Object.values(checks)) pass(texts, check, 20_000);
  const perRound = new Map<string, number[]>(Object.keys(checks).map((name) => [name, []]));
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, check] of Object.entries(checks)) {
      perRound.get(name)?.push(pass(texts, check, eventsPerRound));
    }
  }
  const parseOnly = median(perRound.get('JSON.parse only') ?? []);
  const zod = median(perRound.get('zod') ?? []) - parseOnly;
  const fast = median(perRound.get('fast path') ?? []) - parseOnly;
  process.stdout.write(
    [
      `${what}: ${rounds} rounds of ${eventsPerRound} events, median round`,
      `  JSON.parse alone: ${format(parseOnly)} µs/event`,
      `  zod (validateEventWithZod): ${format(zod)} µs/event beyond JSON.parse`,
      `  fast path (validateEvent): ${format(fast)} µs/event beyond JSON.parse`,
      `  zod ÷ fast path: ${(zod / fast).toFixed(1)}`,
      `  one simulated year (1,058,504 events): zod ${format((zod * 1_058_504) / 1e6)} s, fast path ${format((fast * 1_058_504) / 1e6)} s of CPU`,
      '',
    ].join('\n'),
  );
}

process.stdout.write(`Node ${process.version}\n`);
const examples = validExamples().map((example) => JSON.stringify(example.event));
measure(
  `${examples.length} valid examples of the ${new Set(validExamples().map((e) => e.eventType)).size} event types`,
  examples,
);

const simulated: string[] = [];
const families = { calls: [] as string[], incidents: [] as string[], resources: [] as string[] };
for (const { emissions } of simulate({
  profile: STAFFORDSHIRE_2023_24,
  seed: 1,
  fromMs: Date.parse('2023-10-01T00:00:00Z'),
  toMs: Date.parse('2023-10-08T00:00:00Z'),
})) {
  for (const emission of emissions) {
    const text = JSON.stringify(emission.event);
    simulated.push(text);
    families[topicFor(emission.event.event_type as never).family].push(text);
  }
}
measure(`a simulated week (${simulated.length} events)`, simulated);

// The sink's whole decode of a message (UTF-8, JSON.parse, surrogates, the contract, the raw
// row), in batches of 500 as it consumes them: what validation is a share of.
const ingestedAt = new Date();
const decodeRounds: number[] = [];
let decoded = 0;
for (let round = 0; round < rounds; round += 1) {
  const started = process.hrtime.bigint();
  decoded = 0;
  for (const [name, texts] of Object.entries(families)) {
    const family = FAMILIES[name as keyof typeof FAMILIES];
    const messages = texts.map((text, offset) => ({
      topic: family.topic.name,
      partition: 0,
      offset: String(offset),
      key: null,
      value: Buffer.from(text),
      headers: {},
      timestamp: '0',
    }));
    for (let from = 0; from < messages.length; from += 500) {
      const batch = decodeBatch(messages.slice(from, from + 500), family, ingestedAt);
      if (batch.rejections.length > 0) throw new Error('a simulated event was refused');
      decoded += batch.rows.length;
    }
  }
  decodeRounds.push(Number(process.hrtime.bigint() - started) / 1000 / decoded);
}
process.stdout.write(
  `the sink's decodeBatch over the simulated week (${decoded} messages): ${format(median(decodeRounds))} µs/message, median of ${rounds} rounds\n`,
);
