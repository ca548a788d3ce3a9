import {
  EXCLUSION_REASONS,
  type IncidentGrouping,
  SEGMENTS,
  type Segment,
} from '@bluelight/standards';
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { chQuery } from '../clickhouse-query.js';
import { incidentFactsFrom } from '../facts.js';
import {
  groupTimeSql,
  incidentKpiSql,
  RANGE_DAYS_YEAR_BEFORE,
  standard,
  statisticSql,
  targetShare,
} from '../kpi-sql.js';
import {
  agencyVariable,
  gridPos,
  INCIDENT_KPI_FILTERS,
  incidentVariableFilter,
  incidentVariables,
  steps,
  targetThresholds,
  thresholdLine,
} from '../panels.js';
import { bluelightDashboard, ident, label } from './common.js';
import { withDataQualityRow } from './data-quality.js';

const filters = INCIDENT_KPI_FILTERS;

/** A standard's figure per London month, as a time series (London midnight of the 1st). */
function monthlyFigureSql(id: string, name: string, shiftYears = 0) {
  const definition = standard(id);
  const sql = incidentKpiSql(definition, 'month', {
    filters,
    ...(shiftYears === 0 ? {} : { days: RANGE_DAYS_YEAR_BEFORE }),
  });
  return `
SELECT ${groupTimeSql('month', shiftYears)} AS time, ${statisticSql(definition)} AS ${ident(name)}
FROM (${sql}
)
ORDER BY time`;
}

/** A standard's figure per station, category or risk band over the range. */
function figureBySql(id: string, groupBy: IncidentGrouping, column: string) {
  const definition = standard(id);
  return `
SELECT CAST(group AS String) AS ${column}, ${statisticSql(definition)} AS met_share, n
FROM (${incidentKpiSql(definition, groupBy, { filters })}
)
ORDER BY ${column}`;
}

const SEGMENT_LABELS: Record<Exclude<Segment, 'total'>, string> = {
  call_handling: 'Call handling',
  turnout: 'Turnout',
  travel: 'Travel',
};

const EXCLUSION_LABELS: Record<(typeof EXCLUSION_REASONS)[number], string> = {
  late_call: 'Late call',
  derelict_property: 'Derelict property',
  abandoned_road_vehicle: 'Abandoned road vehicle',
  out_of_sequence: 'Out of sequence',
  total_over: 'Over the time limit',
  total_under: 'Under the time limit',
};

/** Day-of-week × hour counts of incidents (London), one row per day, one column per hour. */
function demandGridSql() {
  const time = 'assumeNotNull(ifNull(call_received_at, created_at))';
  const hours = Array.from({ length: 24 }, (_, hour) => String(hour).padStart(2, '0'));
  return `
SELECT
  ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][toDayOfWeek(${time}, 0, 'Europe/London')] AS day,
  ${hours.map((hour) => `countIf(toHour(${time}, 'Europe/London') = ${Number(hour)}) AS "${hour}"`).join(',\n  ')}
FROM ${incidentFactsFrom()}
WHERE ${time} >= $__fromTime AND ${time} <= $__toTime
  AND ${incidentVariableFilter()}
GROUP BY toDayOfWeek(${time}, 0, 'Europe/London') AS weekday, day
ORDER BY weekday`;
}

export function responseStandards() {
  const attendance = standard('fire-attendance-standard');
  const target = targetShare(attendance);
  const builder = bluelightDashboard(
    'bluelight-response-standards',
    'Response standards',
    'History of the response standards, computed from the versioned definitions in services/standards/config.',
  ).time({ from: 'now-1y', to: 'now' });
  builder.withVariable(agencyVariable());
  for (const variable of incidentVariables()) builder.withVariable(variable);

  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('Attendance standard met, by month')
      .description(
        `${attendance.description} Target ${target}; months below the minimum sample are empty.`,
      )
      .withTarget(chQuery(monthlyFigureSql('fire-attendance-standard', 'First pump')).timeSeries())
      .withTarget(
        chQuery(monthlyFigureSql('fire-attendance-standard-second-pump', 'Second pump'))
          .timeSeries()
          .refId('B'),
      )
      .unit('percentunit')
      .min(0)
      .max(1)
      .thresholds(targetThresholds(target))
      .thresholdsStyle(thresholdLine())
      .showPoints(common.VisibilityMode.Always)
      .gridPos(gridPos(0, 0, 12, 8)),
  );
  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('Attendance standard met, year on year')
      .withTarget(chQuery(monthlyFigureSql('fire-attendance-standard', 'This year')).timeSeries())
      .withTarget(
        chQuery(monthlyFigureSql('fire-attendance-standard', 'Year before', 1))
          .timeSeries()
          .refId('B'),
      )
      .unit('percentunit')
      .min(0)
      .max(1)
      .thresholds(targetThresholds(target))
      .thresholdsStyle(thresholdLine())
      .showPoints(common.VisibilityMode.Always)
      .gridPos(gridPos(12, 0, 12, 8)),
  );
  const by = [
    ['station', 'station', 'By station'],
    ['category', 'category', 'By category'],
    ['risk_band', 'risk_band', 'By risk band'],
  ] as const;
  by.forEach(([groupBy, column, title], index) => {
    builder.withPanel(
      new barchart.PanelBuilder()
        .title(`Attendance standard met — ${title.toLowerCase()}`)
        .withTarget(chQuery(figureBySql('fire-attendance-standard', groupBy, column)))
        .xField(column)
        .unit('percentunit')
        .min(0)
        .max(1)
        .thresholds(targetThresholds(target))
        .thresholdsStyle(thresholdLine())
        .showValue(common.VisibilityMode.Always)
        .overrideByName('n', [
          { id: 'custom.hideFrom', value: { viz: true, legend: true, tooltip: false } },
        ])
        .gridPos(gridPos(index * 8, 8, 8, 8)),
    );
  });
  const average = standard('fire-average-attendance');
  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('Attendance time: mean and 90th percentile')
      .description(
        'Mean and exact 90th percentile of call → first arrival over the incidents the attendance standard measured; the average fire attendance standard (primary fires) beside them.',
      )
      .withTarget(
        chQuery(`
SELECT ${groupTimeSql('month')} AS time, mean_seconds AS "Mean", percentile_seconds AS "90th percentile"
FROM (${incidentKpiSql(attendance, 'month', { filters })}
)
WHERE n > 0
ORDER BY time`).timeSeries(),
      )
      .withTarget(
        chQuery(`
SELECT ${groupTimeSql('month')} AS time, ${statisticSql(average)} AS "Average fire attendance"
FROM (${incidentKpiSql(average, 'month', { filters })}
)
ORDER BY time`)
          .timeSeries()
          .refId('B'),
      )
      .unit('s')
      .showPoints(common.VisibilityMode.Always)
      .gridPos(gridPos(0, 16, 12, 8)),
  );
  const segments = Object.keys(SEGMENT_LABELS) as (keyof typeof SEGMENT_LABELS)[];
  for (const segment of segments) {
    if (!(segment in SEGMENTS)) throw new Error(`unknown segment ${segment}`);
  }
  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('Response segments (mean)')
      .description(
        'Call handling (call → first mobilised), turnout (mobilised → mobile) and travel (mobile → arrival), mean seconds over the incidents the attendance standard measured.',
      )
      .withTarget(
        chQuery(`
SELECT ${groupTimeSql('month')} AS time,
  ${segments.map((segment) => `seg_${segment}_mean AS "${SEGMENT_LABELS[segment]}"`).join(',\n  ')}
FROM (${incidentKpiSql(attendance, 'month', { filters })}
)
ORDER BY time`).timeSeries(),
      )
      .unit('s')
      .drawStyle(common.GraphDrawStyle.Bars)
      .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
      .fillOpacity(80)
      .gridPos(gridPos(12, 16, 12, 8)),
  );
  builder.withPanel(
    new table.PanelBuilder()
      .title('Demand by day of week and hour (London)')
      .description(
        'Incidents received, by weekday and hour of the call in London time: a 7 × 24 heat map.',
      )
      .withTarget(chQuery(demandGridSql()))
      .cellOptions({ type: common.TableCellDisplayMode.ColorBackground })
      .thresholds(steps([null, 'transparent'], [1, 'light-yellow'], [5, 'orange'], [10, 'red']))
      .overrideByName('day', [{ id: 'custom.cellOptions', value: { type: 'auto' } }])
      .gridPos(gridPos(0, 24, 16, 8)),
  );
  builder.withPanel(
    new barchart.PanelBuilder()
      .title('Excluded from the attendance standard, by reason')
      .description('An incident may be excluded for more than one reason.')
      .withTarget(
        chQuery(`
SELECT reason, incidents
FROM (${incidentKpiSql(attendance, 'none', { filters })}
)
ARRAY JOIN
  [${EXCLUSION_REASONS.map((reason) => label(EXCLUSION_LABELS[reason])).join(', ')}] AS reason,
  [${EXCLUSION_REASONS.map((reason) => `excluded_${reason}`).join(', ')}] AS incidents`),
      )
      .xField('reason')
      .orientation(common.VizOrientation.Horizontal)
      .showValue(common.VisibilityMode.Always)
      .gridPos(gridPos(16, 24, 8, 8)),
  );
  withDataQualityRow(builder, 32);
  return builder;
}
