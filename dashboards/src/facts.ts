/**
 * The facts sources (@bluelight/standards) as hand-written panels and alert rules read them: over
 * the London days or instants of the dashboard's range, and narrowed to the `agency` variable
 * (each read inside `$__conditionalAll`, so All reads every agency) or — an alert rule counting
 * each agency apart — to no agency in particular.
 */
import {
  callFactsSql,
  type DaysSql,
  EVERY_AGENCY,
  type InstantsSql,
  incidentFactsSql,
  resourceIntervalsSql,
} from '@bluelight/standards';
import { RANGE_DAYS } from './kpi-sql.js';
import { AGENCY_VARIABLE, variableConditions } from './panels.js';

export type AgencyReach = 'variable' | 'per agency';

function sourced(sql: (agencies: string | typeof EVERY_AGENCY) => string, reach: AgencyReach) {
  if (reach === 'per agency') return `(${sql(EVERY_AGENCY)})`;
  return variableConditions(`(${sql(`[\${${AGENCY_VARIABLE}:singlequote}]`)})`, AGENCY_VARIABLE);
}

/** The London days [from, to) that instants [from, to] fall on, as SQL. */
export const daysOf = (instants: InstantsSql): DaysSql => ({
  from: `toDate(${instants.from}, 'Europe/London')`,
  to: `(toDate(${instants.to}, 'Europe/London') + 1)`,
});

/** Incidents that can have a London day in `days` (default: the dashboard's range). */
export const incidentFactsFrom = (days: DaysSql = RANGE_DAYS, reach: AgencyReach = 'variable') =>
  sourced((agencies) => incidentFactsSql(days, agencies), reach);

/** Calls that can have been presented on a London day in `days`. */
export const callFactsFrom = (days: DaysSql = RANGE_DAYS, reach: AgencyReach = 'variable') =>
  sourced((agencies) => callFactsSql(days, agencies), reach);

/** The dashboard's range as DateTime64 instants. */
const RANGE_INSTANTS: InstantsSql = {
  from: 'toDateTime64($__fromTime, 3)',
  to: 'toDateTime64($__toTime, 3)',
};

/** Availability intervals overlapping `instants` (each appliance's status at their start first). */
export const resourceIntervalsFrom = (
  instants: InstantsSql = RANGE_INSTANTS,
  reach: AgencyReach = 'variable',
) => sourced((agencies) => resourceIntervalsSql(instants, agencies), reach);

/** Just after the end of the range: intervals "from" it are each appliance's status at its end. */
export const END_OF_RANGE = 'toDateTime64($__toTime, 3) + toIntervalMillisecond(1)';
