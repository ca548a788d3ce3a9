const offsetFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  timeZoneName: 'shortOffset',
});

/** London's offset from UTC at `ms`, in ms (0 in winter, 3,600,000 in summer time). */
function londonOffsetMs(ms: number): number {
  const name = offsetFormat
    .formatToParts(new Date(ms))
    .find((part) => part.type === 'timeZoneName');
  const match = /GMT([+-]\d+)?/.exec(name?.value ?? 'GMT');
  return Number(match?.[1] ?? 0) * 3_600_000;
}

/** UTC instants of every London midnight in [startMs, endMs). */
export function londonMidnights(startMs: number, endMs: number): number[] {
  const result: number[] = [];
  // Walk calendar dates; a London midnight is the UTC date's midnight minus the offset then.
  const first = new Date(startMs - 86_400_000);
  for (
    let day = Date.UTC(first.getUTCFullYear(), first.getUTCMonth(), first.getUTCDate());
    day < endMs + 86_400_000;
    day += 86_400_000
  ) {
    const midnight = day - londonOffsetMs(day - 3_600_000 * 2);
    if (midnight >= startMs && midnight < endMs) result.push(midnight);
  }
  return result;
}

export const MINUTE = 60_000;
export const SECOND = 1_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export function iso(ms: number): string {
  return new Date(Math.round(ms)).toISOString();
}

/** YYYYMMDD of the UTC date, for readable ids. */
export function compactDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll('-', '');
}
