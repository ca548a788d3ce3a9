import * as common from '@grafana/grafana-foundation-sdk/common';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { chQuery } from '../clickhouse-query.js';
import {
  availabilityKpiSql,
  groupTimeSql,
  incidentKpiSql,
  type KpiSqlOptions,
  standard,
  statisticSql,
  targetShare,
} from '../kpi-sql.js';
import {
  agencyVariable,
  columnVariable,
  gridPos,
  targetThresholds,
  thresholdLine,
} from '../panels.js';
import { bluelightDashboard, label } from './common.js';

export const AVAILABILITY_STANDARDS = {
  wholetime: 'appliance-availability-wholetime',
  on_call: 'appliance-availability-on-call',
} as const;
const NAMES = { wholetime: 'Whole-time', on_call: 'On-call' } as const;

const filters = { station: 'station' };

/** An availability standard's figure over the range, one row. */
function availabilityFigureSql(id: string, options: KpiSqlOptions = {}) {
  const definition = standard(id);
  return `
SELECT ${statisticSql(definition)} AS value, total_ms / 3600000 AS hours
FROM (${availabilityKpiSql(definition, 'none', options)}
)`;
}

export function applianceAvailability() {
  const builder = bluelightDashboard(
    'bluelight-availability',
    'Appliance availability',
    'Whole-time and on-call appliances on the run (available or committed) against their standards, why they were off the run, and attendance beside it.',
  )
    .refresh('5m')
    .time({ from: 'now-30d', to: 'now' })
    .withVariable(agencyVariable())
    .withVariable(
      columnVariable(
        'station',
        'Station',
        `SELECT DISTINCT profile.home_station AS value FROM resource_registry
         UNION ALL SELECT DISTINCT placement.station_ground FROM incident_facts WHERE placement.station_ground != ''`,
      ),
    );

  (Object.keys(AVAILABILITY_STANDARDS) as (keyof typeof AVAILABILITY_STANDARDS)[]).forEach(
    (model, index) => {
      const id = AVAILABILITY_STANDARDS[model];
      const definition = standard(id);
      const target = targetShare(definition);
      builder.withPanel(
        new stat.PanelBuilder()
          .title(`${NAMES[model]} availability`)
          .description(`${definition.description} Target ${target}.`)
          .withTarget(chQuery(availabilityFigureSql(id, { filters })))
          .unit('percentunit')
          .decimals(1)
          .thresholds(targetThresholds(target))
          .colorMode(common.BigValueColorMode.Background)
          .reduceOptions(
            new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/^value$/'),
          )
          .gridPos(gridPos(index * 4, 0, 4, 8)),
      );
      builder.withPanel(
        new timeseries.PanelBuilder()
          .title(`${NAMES[model]} availability, by day`)
          .withTarget(
            chQuery(`
SELECT ${groupTimeSql('day')} AS time, ${statisticSql(definition)} AS "${NAMES[model]}"
FROM (${availabilityKpiSql(definition, 'day', { filters })}
)
ORDER BY time`).timeSeries(),
          )
          .unit('percentunit')
          .min(0)
          .max(1)
          .thresholds(targetThresholds(target))
          .thresholdsStyle(thresholdLine())
          .gridPos(gridPos(8 + index * 8, 0, 8, 8)),
      );
    },
  );
  builder.withPanel(
    new table.PanelBuilder()
      .title('Off-run hours by reason')
      .withTarget(
        chQuery(
          (Object.keys(AVAILABILITY_STANDARDS) as (keyof typeof AVAILABILITY_STANDARDS)[])
            .map(
              (model) => `
SELECT ${label(NAMES[model])} AS crewing, CAST(reason AS String) AS reason, ms / 3600000 AS hours
FROM (${availabilityKpiSql(standard(AVAILABILITY_STANDARDS[model]), 'none', { filters })}
)
ARRAY JOIN mapKeys(off_run_ms_by_reason) AS reason, mapValues(off_run_ms_by_reason) AS ms`,
            )
            .join('\nUNION ALL'),
        ),
      )
      .overrideByName('hours', [
        { id: 'unit', value: 'h' },
        { id: 'decimals', value: 1 },
      ])
      .gridPos(gridPos(0, 8, 8, 9)),
  );
  const attendance = standard('fire-attendance-standard');
  const wholetime = standard(AVAILABILITY_STANDARDS.wholetime);
  const onCall = standard(AVAILABILITY_STANDARDS.on_call);
  builder.withPanel(
    new table.PanelBuilder()
      .title('Availability beside attendance, by station')
      .description(
        "Each station's whole-time and on-call availability and its attendance standard figure over the same days (empty: no appliances of that model, or too few incidents).",
      )
      .withTarget(
        chQuery(`
SELECT station, wholetime_availability, on_call_availability, attendance_met, incidents_measured
FROM (
  SELECT CAST(group AS String) AS station, ${statisticSql(attendance)} AS attendance_met, n AS incidents_measured
  FROM (${incidentKpiSql(attendance, 'station', { filters: { station: 'station' } })}
  )
) AS a
FULL OUTER JOIN (
  SELECT CAST(group AS String) AS station, ${statisticSql(wholetime)} AS wholetime_availability
  FROM (${availabilityKpiSql(wholetime, 'station', { filters })}
  )
) AS w USING station
FULL OUTER JOIN (
  SELECT CAST(group AS String) AS station, ${statisticSql(onCall)} AS on_call_availability
  FROM (${availabilityKpiSql(onCall, 'station', { filters })}
  )
) AS o USING station
ORDER BY station
SETTINGS join_use_nulls = 1`),
      )
      .overrideByRegexp('/availability|attendance_met/', [
        { id: 'unit', value: 'percentunit' },
        { id: 'decimals', value: 1 },
      ])
      .gridPos(gridPos(8, 8, 16, 9)),
  );
  return builder;
}
