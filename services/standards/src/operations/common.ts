import type { DaysSql, InstantsSql } from '@bluelight/clickhouse-schema';
import type { parameterBinder } from '../kpi-common.js';

/** What every operational figure is asked for: London days [from, to] and a scope. */
export interface OperationsPeriod {
  /** First London day (YYYY-MM-DD). */
  from: string;
  /** Last London day, inclusive. */
  to: string;
  /** Incident services counted (default: fire). */
  services?: string[];
  /** Station grounds of the incidents counted (default: every one). */
  stations?: string[];
}

export type Bind = ReturnType<typeof parameterBinder>;

/** The day after a London date (date arithmetic only). */
export function dayAfter(date: string): string {
  const next = new Date(`${date}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  return next.toISOString().slice(0, 10);
}

/** A London date `days` earlier. */
export function daysBefore(date: string, days: number): string {
  const earlier = new Date(`${date}T00:00:00Z`);
  earlier.setUTCDate(earlier.getUTCDate() - days);
  return earlier.toISOString().slice(0, 10);
}

/** The period's London days [from, to + 1) as bound Date parameters. */
export function periodDays(bind: Bind, period: OperationsPeriod): DaysSql {
  return {
    from: bind('days_from', period.from, 'Date'),
    to: bind('days_to', dayAfter(period.to), 'Date'),
  };
}

/** The period's instants: London midnight of `from` to London midnight after `to`. */
export function periodInstants(days: DaysSql): InstantsSql {
  return {
    from: `toDateTime64(${days.from}, 3, 'Europe/London')`,
    to: `toDateTime64(${days.to}, 3, 'Europe/London')`,
  };
}

/** The incident scope every operational figure shares: the period's days, services, grounds. */
export function scopeWhere(bind: Bind, period: OperationsPeriod, days: DaysSql): string[] {
  const where = [
    `day >= ${days.from}`,
    `day < ${days.to}`,
    `service IN ${bind('services', period.services ?? ['fire'], 'Array(String)')}`,
  ];
  if (period.stations !== undefined) {
    where.push(`station_ground IN ${bind('stations', period.stations, 'Array(String)')}`);
  }
  return where;
}
