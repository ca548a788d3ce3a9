import { DateTime, FixedOffsetZone, IANAZone, type TokenParser } from 'luxon';

/**
 * Local wall-clock times → UTC instants.
 *
 * CAD exports print local times without an offset. A wall time is turned into an instant with
 * the export's IANA zone, and the two clocks-change cases are resolved the same way every time
 * (as java.time's `ZonedDateTime.ofLocal` and Temporal's `disambiguation: 'compatible'` do):
 *
 * - spring gap (the wall time never happened, e.g. 01:30 in London on the last Sunday of March):
 *   read with the offset in force before the change, i.e. moved forward by the length of the gap
 *   (01:30 → 01:30Z = 02:30 BST);
 * - autumn overlap (the wall time happened twice, e.g. 01:30 in London on the last Sunday of
 *   October): the earlier instant (01:30 BST = 00:30Z), unless that is before a given
 *   `notBefore` instant, in which case the later one (01:30 GMT = 01:30Z). The `notBefore` rule
 *   keeps a unit's arrival after its mobilisation when the two straddle the repeated hour.
 */

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
/** Month names (`MMM`) are English whatever the machine's locale. */
const LOCALE = 'en-US';

export function isValidTimeZone(zone: string): boolean {
  return IANAZone.isValidZone(zone);
}

/** A wall time read with digits past the millisecond that are not zero (the contract holds ms). */
export interface LostDigits {
  lostDigits: string;
}

/** Whether a luxon pattern has the `u` token (fractional seconds, any number of digits). */
function hasFractionToken(pattern: string): boolean {
  // Text in single quotes is literal.
  return /u/.test(pattern.replace(/'[^']*'/g, ''));
}

/** A parser for one or more luxon format patterns, tried in order (e.g. `dd MMM yyyy HH:mm:ss`). */
export class WallTimeFormat {
  readonly patterns: readonly string[];
  readonly #parsers: { pattern: string; parser: TokenParser; fraction: boolean }[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    this.#parsers = patterns.map((pattern) => ({
      pattern,
      parser: DateTime.buildFormatParser(pattern, { locale: LOCALE }),
      fraction: hasFractionToken(pattern),
    }));
  }

  /**
   * The wall time the text names, or undefined when it matches none of the patterns. A fraction
   * of a second read by `u` with non-zero digits past the millisecond (`51.123456`) is not cut
   * to `51.123` without a word: it comes back as LostDigits, for the caller to reject.
   */
  parse(text: string): WallTime | LostDigits | undefined {
    for (const { pattern, parser, fraction } of this.#parsers) {
      // Parsed "in UTC" only to read the fields back unchanged; zones are applied separately.
      const parsed = DateTime.fromFormatParser(text, parser, {
        zone: FixedOffsetZone.utcInstance,
        locale: LOCALE,
      });
      if (parsed.isValid) {
        if (fraction) {
          const digits = String(DateTime.fromFormatExplain(text, pattern).matches?.u ?? '');
          if (/[1-9]/.test(digits.slice(3))) return { lostDigits: digits };
        }
        return {
          year: parsed.year,
          month: parsed.month,
          day: parsed.day,
          hour: parsed.hour,
          minute: parsed.minute,
          second: parsed.second,
          millisecond: parsed.millisecond,
        };
      }
    }
    return undefined;
  }
}

function wallAsUtc(wall: WallTime): number {
  return Date.UTC(
    wall.year,
    wall.month - 1,
    wall.day,
    wall.hour,
    wall.minute,
    wall.second,
    wall.millisecond,
  );
}

const HOUR_MS = 60 * MINUTE_MS;

/**
 * A zone's UTC offset at an instant. Asking the zone (Intl underneath) is slow, so offsets are
 * kept per UTC hour: an hour whose first and last millisecond have the same offset has it
 * throughout (clocks change at most once an hour); an hour with a change is asked each time.
 */
class ZoneOffsets {
  readonly #zone: IANAZone;
  readonly #byHour = new Map<number, number | null>();

  constructor(timeZone: string) {
    this.#zone = IANAZone.create(timeZone);
  }

  at(instant: number): number {
    const hour = Math.floor(instant / HOUR_MS);
    let offset = this.#byHour.get(hour);
    if (offset === undefined) {
      const first = this.#ask(hour * HOUR_MS);
      offset = first === this.#ask((hour + 1) * HOUR_MS - 1) ? first : null;
      this.#byHour.set(hour, offset);
    }
    return offset ?? this.#ask(instant);
  }

  #ask(instant: number): number {
    return this.#zone.offset(instant) * MINUTE_MS;
  }
}

const zoneOffsets = new Map<string, ZoneOffsets>();

function offsetsOf(timeZone: string): ZoneOffsets {
  let offsets = zoneOffsets.get(timeZone);
  if (!offsets) {
    offsets = new ZoneOffsets(timeZone);
    zoneOffsets.set(timeZone, offsets);
  }
  return offsets;
}

/**
 * Every instant at which the zone's clocks showed this wall time, earliest first: one normally,
 * none in a spring gap, two in an autumn overlap.
 */
export function instantsOf(wall: WallTime, timeZone: string): number[] {
  const zone = offsetsOf(timeZone);
  const asUtc = wallAsUtc(wall);
  // The offsets a day either side cover both sides of any clocks change near this wall time.
  const offsets = new Set([zone.at(asUtc - DAY_MS), zone.at(asUtc + DAY_MS)]);
  return [...offsets]
    .map((offset) => asUtc - offset)
    .filter((instant) => zone.at(instant) === asUtc - instant)
    .sort((a, b) => a - b);
}

/** The instant a wall time stands for in `timeZone`, resolving gaps and overlaps as above. */
export function toInstant(wall: WallTime, timeZone: string, notBefore?: number): number {
  const instants = instantsOf(wall, timeZone);
  const [earlier, later] = instants;
  if (earlier === undefined) {
    const asUtc = wallAsUtc(wall);
    return asUtc - offsetsOf(timeZone).at(asUtc - DAY_MS);
  }
  if (later !== undefined && notBefore !== undefined && earlier < notBefore) return later;
  return earlier;
}

/**
 * For a time-of-day column without a date: the first instant at or after `reference` at which
 * the zone's clocks showed this time, so a time past midnight lands on the next day (a call at
 * 23:58 and a mobilisation at 00:03 are five minutes apart).
 */
export function nextOccurrence(
  timeOfDay: Pick<WallTime, 'hour' | 'minute' | 'second' | 'millisecond'>,
  reference: number,
  timeZone: string,
): number {
  const localReference = new Date(reference + offsetsOf(timeZone).at(reference));
  const wallOn = (dayOffset: number): WallTime => {
    const date = new Date(
      Date.UTC(
        localReference.getUTCFullYear(),
        localReference.getUTCMonth(),
        localReference.getUTCDate() + dayOffset,
      ),
    );
    return {
      year: date.getUTCFullYear(),
      month: date.getUTCMonth() + 1,
      day: date.getUTCDate(),
      ...timeOfDay,
    };
  };
  const sameDay = wallOn(0);
  const sameDayInstants = instantsOf(sameDay, timeZone);
  const candidates = sameDayInstants.length > 0 ? sameDayInstants : [toInstant(sameDay, timeZone)];
  // Otherwise the time is past midnight: the next day's occurrence is always after the reference.
  return candidates.find((instant) => instant >= reference) ?? toInstant(wallOn(1), timeZone);
}
