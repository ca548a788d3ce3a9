import {
  CONCURRENCY_CARRY_IN_DAYS,
  COVER_STATES,
  concurrencyQuery,
  coverMinimumSample,
  FREE_TO_SEND,
  type IncidentStandardVersion,
  utilisationQuery,
} from '@bluelight/standards';
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { NO_COVER_LIMIT_MINUTES } from '../alerts.js';
import { chQuery } from '../clickhouse-query.js';
import { END_OF_RANGE, resourceIntervalsFrom } from '../facts.js';
import {
  coverAttendanceSql,
  currentVersion,
  operationsSql,
  RANGE_DAYS,
  standard,
  statisticSql,
} from '../kpi-sql.js';
import { agencyVariable, gridPos, perRow, steps } from '../panels.js';
import { incidentsInProgressSql, withoutCoverSql } from '../queries.js';
import { bluelightDashboard } from './common.js';

/** The standard the cover panel splits (the query API's default for /v1/operations/cover). */
export const COVER_STANDARD = 'fire-attendance-standard';

/** Stations with no appliance free to send at the end of the range, and for how many minutes. */
export const stationsWithoutCoverPanelSql = () => `
SELECT agency, station, minutes_without
FROM (${withoutCoverSql('variable')}
)
WHERE free_now = 0
ORDER BY agency, station`;

/** Appliances free to send at the end of the range, per home station and crewing model. */
const availableNowSql = () => `
SELECT concat(CAST(home_station AS String), ' · ', CAST(crewing_model AS String)) AS appliances,
  countIf(${FREE_TO_SEND}) AS available
FROM ${resourceIntervalsFrom({ from: END_OF_RANGE, to: END_OF_RANGE })}
GROUP BY appliances
ORDER BY appliances`;

/**
 * Incidents in progress at once, the peak of each UTC hour (`concurrencyQuery`, as
 * /v1/operations/concurrency), hours with none filled as 0 over the range.
 */
const concurrencySeriesSql = () => `
SELECT parseDateTimeBestEffort(bucket) AS time, peak AS "in progress (peak)"
FROM (${operationsSql(
  (period, agencies) => concurrencyQuery(period, agencies, 'none', 'hour'),
  {},
  { read_from: `(${RANGE_DAYS.from} - ${CONCURRENCY_CARRY_IN_DAYS})` },
)}
)
WHERE time >= toStartOfHour($__fromTime) AND time <= $__toTime
ORDER BY time WITH FILL FROM toStartOfHour($__fromTime) TO $__toTime STEP 3600`;

/** Unit-hour utilisation per home station over the range (`utilisationQuery`, as /v1/operations/utilisation). */
const utilisationSql = () => `
SELECT CAST(group AS String) AS station,
  if(available_ms > 0, committed_ms / available_ms, NULL) AS utilisation
FROM (${operationsSql((period, agencies) => utilisationQuery(period, agencies, 'station'))}
)
ORDER BY station`;

/**
 * The cover split of the attendance standard (`coverAttendanceQuery`, as /v1/operations/cover),
 * overall and per station: each side's figure, sample and mean; the share difference (on the
 * run − off the run) with its 95% interval and the mean difference (off − on), as
 * `coverDifferences` computes them, NULL while either side is below the minimum sample.
 */
export function coverPanelSql(): string {
  const definition = standard(COVER_STANDARD);
  const version = currentVersion(definition) as IncidentStandardVersion;
  const minimum = coverMinimumSample(version);
  const statistic = statisticSql(definition);
  const sides = (byStation: boolean) => `
  SELECT ${byStation ? `splitByChar('|', CAST(group AS String))[1]` : `'all'`} AS station,
    ${byStation ? `splitByChar('|', CAST(group AS String))[2]` : 'CAST(group AS String)'} AS state,
    n, met, mean_seconds, ${statistic} AS value
  FROM (${coverAttendanceSql(definition, byStation)}
  )`;
  const on = `'${COVER_STATES.available}'`;
  const off = `'${COVER_STATES.unavailable}'`;
  return `
SELECT station, n_on_run, value_on_run, mean_on_run, n_off_run, value_off_run, mean_off_run,
  if(enough, p_on - p_off, NULL) AS share_difference,
  if(enough, p_on - p_off - 1.96 * se, NULL) AS share_difference_low,
  if(enough, p_on - p_off + 1.96 * se, NULL) AS share_difference_high,
  if(enough, mean_off_run - mean_on_run, NULL) AS mean_seconds_difference
FROM (
  SELECT station,
    sumIf(n, state = ${on}) AS n_on_run, sumIf(n, state = ${off}) AS n_off_run,
    if(n_on_run > 0, anyIf(value, state = ${on}), NULL) AS value_on_run,
    if(n_off_run > 0, anyIf(value, state = ${off}), NULL) AS value_off_run,
    if(n_on_run > 0, anyIf(mean_seconds, state = ${on}), NULL) AS mean_on_run,
    if(n_off_run > 0, anyIf(mean_seconds, state = ${off}), NULL) AS mean_off_run,
    n_on_run >= ${minimum} AND n_off_run >= ${minimum} AS enough,
    if(n_on_run > 0, sumIf(met, state = ${on}) / n_on_run, 0) AS p_on,
    if(n_off_run > 0, sumIf(met, state = ${off}) / n_off_run, 0) AS p_off,
    sqrt(if(enough, p_on * (1 - p_on) / n_on_run + p_off * (1 - p_off) / n_off_run, 0)) AS se
  FROM (${sides(false)}
  UNION ALL${sides(true)}
  )
  WHERE state IN (${on}, ${off})
  GROUP BY station
)
ORDER BY station = 'all' DESC, station`;
}

export function appliancesCover() {
  const attendance = standard(COVER_STANDARD);
  const minimum = coverMinimumSample(currentVersion(attendance) as IncidentStandardVersion);
  const builder = bluelightDashboard(
    'bluelight-appliances-cover',
    'Appliances and cover',
    'For the wall screen: appliances free to send now, station grounds without one, incidents in progress, how busy each station is, and what on-call availability does to attendance.',
  )
    .refresh('1m')
    .time({ from: 'now-7d', to: 'now' })
    .withVariable(agencyVariable());

  builder.withPanel(
    new stat.PanelBuilder()
      .title('Station grounds without an available appliance')
      .description(
        `Stations none of whose appliances is free to send now (available at the station or on the road), and for how many minutes (the last day's status changes; at least that long when longer). The alert fires past ${NO_COVER_LIMIT_MINUTES} minutes.`,
      )
      .withTarget(chQuery(stationsWithoutCoverPanelSql()))
      .unit('m')
      .thresholds(steps([null, 'orange'], [NO_COVER_LIMIT_MINUTES, 'red']))
      .colorMode(common.BigValueColorMode.Background)
      .noValue('none')
      .reduceOptions(perRow('minutes_without'))
      .textMode(common.BigValueTextMode.ValueAndName)
      .gridPos(gridPos(0, 0, 10, 6)),
  );
  builder.withPanel(
    new stat.PanelBuilder()
      .title('Incidents in progress now')
      .description(
        'Fire incidents called (or created) and not yet closed or cancelled, at the end of the range.',
      )
      .withTarget(chQuery(incidentsInProgressSql()))
      .thresholds(steps([null, 'green'], [5, 'orange'], [10, 'red']))
      .colorMode(common.BigValueColorMode.Background)
      .reduceOptions(
        new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/^in_progress$/'),
      )
      .gridPos(gridPos(10, 0, 4, 6)),
  );
  builder.withPanel(
    new stat.PanelBuilder()
      .title('Appliances available now')
      .description(
        'By home station and crewing model: appliances free to send now (available at the station or on the road; not committed, not off the run).',
      )
      .withTarget(chQuery(availableNowSql()))
      .thresholds(steps([null, 'red'], [1, 'green']))
      .reduceOptions(perRow('available'))
      .textMode(common.BigValueTextMode.ValueAndName)
      .gridPos(gridPos(14, 0, 10, 6)),
  );
  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('Incidents in progress, peak per hour')
      .description(
        'The most fire incidents in progress at once in each hour (call to closure; cancelled and never-closed incidents are not counted), as /v1/operations/concurrency.',
      )
      .withTarget(chQuery(concurrencySeriesSql()).timeSeries())
      .min(0)
      .decimals(0)
      .gridPos(gridPos(0, 6, 12, 8)),
  );
  builder.withPanel(
    new barchart.PanelBuilder()
      .title('Utilisation by station')
      .description(
        'Unit-hour utilisation of each home station over the range: time committed to incidents ÷ time on the run, as /v1/operations/utilisation.',
      )
      .withTarget(chQuery(utilisationSql()))
      .xField('station')
      .unit('percentunit')
      .showValue(common.VisibilityMode.Auto)
      .gridPos(gridPos(12, 6, 12, 8)),
  );
  builder.withPanel(
    new table.PanelBuilder()
      .title('On-call cover and attendance')
      .description(
        `${attendance.name} in on-call stations' grounds, split by whether an on-call appliance of the station was on the run at the call (as /v1/operations/cover): each side's figure, incidents measured (n) and mean; the share difference (on − off the run) with its 95% interval and the mean difference in seconds, empty while a side has fewer than ${minimum}.`,
      )
      .withTarget(chQuery(coverPanelSql()))
      .overrideByRegexp('/^value_|^share_difference/', [
        { id: 'unit', value: 'percentunit' },
        { id: 'decimals', value: 1 },
      ])
      .overrideByRegexp('/^mean_/', [
        { id: 'unit', value: 's' },
        { id: 'decimals', value: 0 },
      ])
      .gridPos(gridPos(0, 14, 24, 8)),
  );
  return builder;
}
