/**
 * The London days a period may cover: those ClickHouse's `Date` holds (1970-01-01 to 2149-06-06),
 * less one at the end, since a period [from, to] is queried as [from, to + 1 day). A day outside
 * would make ClickHouse fail the query or clamp the day silently.
 */
export const FIRST_PERIOD_DAY = '1970-01-01';
export const LAST_PERIOD_DAY = '2149-06-05';

export const PERIOD_DAY_RANGE_MESSAGE = `must be a London day from ${FIRST_PERIOD_DAY} to ${LAST_PERIOD_DAY} (the days ClickHouse's Date type holds)`;

/** True when `date` (YYYY-MM-DD) is a day a period may start or end on. */
export function isPeriodDay(date: string): boolean {
  return date >= FIRST_PERIOD_DAY && date <= LAST_PERIOD_DAY;
}
