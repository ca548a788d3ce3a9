/**
 * µs per event for checking events against the contract: zod alone (validateEventWithZod) vs
 * validateEvent (the fast path, falling back to zod only for what it does not vouch for), over
 * the valid examples of every event type. Each event is JSON.parse'd afresh per check, as the
 * sink and the gateway see them; the time of JSON.parse alone is measured too and taken off.
 *
 *   npm run bench:validation [-- --rounds 15 --events 40000]
 *
 * Rounds interleave the three measurements so that load from other jobs on these shared
 * machines falls on all of them alike; the median round is reported.
 */
import { parseArgs } from 'node:util';
import { validateEvent, validateEventWithZod, validExamples } from '@bluelight/schemas';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    events: { type: 'string', default: '40000' },
  },
});
const rounds = Number(values.rounds);
const eventsPerRound = Number(values.events);

const texts = validExamples().map((example) => JSON.stringify(example.event));

type Check = (event: unknown) => { ok: boolean };
const checks: Record<string, Check> = {
  'JSON.parse only': () => ({ ok: true }),
  zod: (event) => validateEventWithZod(event),
  'fast path': (event) => validateEvent(event),
};

/** µs per event for one pass of `count` events through `check`, JSON.parse included. */
function pass(check: Check, count: number): number {
  let refused = 0;
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index += 1) {
    if (!check(JSON.parse(texts[index % texts.length] as string)).ok) refused += 1;
  }
  const elapsed = Number(process.hrtime.bigint() - started) / 1000;
  if (refused > 0) throw new Error(`${refused} valid examples refused`);
  return elapsed / count;
}

const median = (numbers: number[]) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

// Warm-up: every type compiled (fast path) and every function optimised before timing.
for (const check of Object.values(checks)) pass(check, 20_000);

const perRound = new Map<string, number[]>(Object.keys(checks).map((name) => [name, []]));
for (let round = 0; round < rounds; round += 1) {
  for (const [name, check] of Object.entries(checks)) {
    perRound.get(name)?.push(pass(check, eventsPerRound));
  }
}

const parseOnly = median(perRound.get('JSON.parse only') ?? []);
const zod = median(perRound.get('zod') ?? []) - parseOnly;
const fast = median(perRound.get('fast path') ?? []) - parseOnly;
const format = (microseconds: number) => microseconds.toFixed(2);
process.stdout.write(
  [
    `${texts.length} valid examples, ${rounds} rounds of ${eventsPerRound} events, median round; Node ${process.version}`,
    `JSON.parse alone: ${format(parseOnly)} µs/event`,
    `zod (validateEventWithZod): ${format(zod)} µs/event beyond JSON.parse`,
    `fast path (validateEvent): ${format(fast)} µs/event beyond JSON.parse`,
    `zod ÷ fast path: ${(zod / fast).toFixed(1)}`,
    `one simulated year (1,058,504 events): zod ${format((zod * 1_058_504) / 1e6)} s, fast path ${format((fast * 1_058_504) / 1e6)} s of CPU`,
    '',
  ].join('\n'),
);
