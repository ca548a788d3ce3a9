import type { Random } from './random.js';

const HOUR_MS = 3_600_000;

/** Relative demand by London hour of day (0–23): quiet before dawn, busiest in the early evening. */
const DIURNAL = {
  fire: [
    0.55, 0.5, 0.45, 0.4, 0.38, 0.38, 0.45, 0.6, 0.8, 0.95, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.4,
    1.5, 1.55, 1.5, 1.35, 1.15, 0.9, 0.7,
  ],
  calls: [
    0.45, 0.35, 0.3, 0.25, 0.22, 0.25, 0.35, 0.6, 0.9, 1.1, 1.2, 1.25, 1.3, 1.3, 1.3, 1.35, 1.4,
    1.45, 1.45, 1.4, 1.3, 1.15, 0.9, 0.65,
  ],
} as const;

/** By London weekday (0 Sunday … 6 Saturday). */
const WEEKLY = {
  fire: [1.1, 0.95, 0.95, 0.95, 1.0, 1.05, 1.1],
  calls: [0.95, 1.05, 1.0, 1.0, 1.0, 1.05, 1.0],
} as const;

/** By London month (0 January … 11 December); secondary (outdoor) fires peak in spring and summer. */
const SEASONAL = {
  flat: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  secondaryFire: [0.6, 0.7, 1.1, 1.8, 1.6, 1.3, 1.3, 1.2, 0.9, 0.8, 0.7, 0.9],
  chimney: [2.2, 1.9, 1.4, 0.7, 0.3, 0.15, 0.1, 0.1, 0.3, 0.9, 1.6, 2.3],
} as const;

export type DemandShape = 'fire' | 'secondaryFire' | 'chimney' | 'calls';

const londonParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  hour: 'numeric',
  weekday: 'short',
  month: 'numeric',
  hourCycle: 'h23',
});
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** London hour, weekday and month of each UTC hour from `startMs` (clocks changes included). */
function localHours(startMs: number, hours: number) {
  return Array.from({ length: hours }, (_, index) => {
    const parts = londonParts.formatToParts(new Date(startMs + index * HOUR_MS));
    const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '0';
    return {
      hour: Number(part('hour')),
      weekday: WEEKDAYS.indexOf(part('weekday')),
      month: Number(part('month')) - 1,
    };
  });
}

/**
 * Draws `count` instants in [startMs, endMs) following diurnal, weekly and seasonal demand, sorted.
 */
export class DemandCurve {
  readonly #startMs: number;
  readonly #hours: ReturnType<typeof localHours>;

  constructor(startMs: number, endMs: number) {
    this.#startMs = startMs;
    this.#hours = localHours(startMs, Math.ceil((endMs - startMs) / HOUR_MS));
  }

  sample(random: Random, count: number, shape: DemandShape): number[] {
    const diurnal = shape === 'calls' ? DIURNAL.calls : DIURNAL.fire;
    const weekly = shape === 'calls' ? WEEKLY.calls : WEEKLY.fire;
    const seasonal =
      shape === 'secondaryFire'
        ? SEASONAL.secondaryFire
        : shape === 'chimney'
          ? SEASONAL.chimney
          : SEASONAL.flat;
    const cumulative: number[] = [];
    let total = 0;
    for (const { hour, weekday, month } of this.#hours) {
      total += (diurnal[hour] ?? 1) * (weekly[weekday] ?? 1) * (seasonal[month] ?? 1);
      cumulative.push(total);
    }
    const instants: number[] = [];
    for (let drawn = 0; drawn < count; drawn += 1) {
      const target = random.next() * total;
      let low = 0;
      let high = cumulative.length - 1;
      while (low < high) {
        const middle = (low + high) >> 1;
        if ((cumulative[middle] as number) < target) low = middle + 1;
        else high = middle;
      }
      instants.push(Math.floor(this.#startMs + low * HOUR_MS + random.next() * HOUR_MS));
    }
    return instants.sort((a, b) => a - b);
  }
}
