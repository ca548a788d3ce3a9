import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import { chQuery } from '../clickhouse-query.js';
import { daysOf, END_OF_RANGE, incidentFactsFrom, resourceIntervalsFrom } from '../facts.js';
import {
  callKpiSql,
  currentVersion,
  incidentKpiSql,
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
  perRow,
  steps,
  targetThresholds,
} from '../panels.js';
import { callsWaitingSql, ingestionDelayByFamilySql } from '../queries.js';
import { bandLabels, bluelightDashboard, label } from './common.js';

/** 999 answering is "about to be missed" this far above its target (alert and colours). */
const ANSWER_WARNING_MARGIN = 0.02;
export const warningLevel = (target: number) =>
  Math.round((target + ANSWER_WARNING_MARGIN) * 10_000) / 10_000;

/** A call standard's reporting bands as (band label, calls) rows over the builder's band_counts. */
export function answerBandsSql(id: string, instants: boolean) {
  const definition = standard(id);
  const version = currentVersion(definition);
  const bands = 'bands_seconds' in version ? (version.bands_seconds ?? []) : [];
  const labels = bandLabels(bands);
  return `
SELECT band, calls
FROM (${callKpiSql(definition, 'none', { instants })}
)
ARRAY JOIN
  [${labels.map(label).join(', ')}] AS band,
  [${labels.map((_, index) => `band_counts[toUInt32(${index})]`).join(', ')}] AS calls`;
}

/** The figure of a standard over the range, as one row (value NULL below the minimum sample). */
export function standardFigureSql(id: string, sql: string, extra: string[] = ['n']): string {
  return `
SELECT ${statisticSql(standard(id))} AS value${extra.map((column) => `, ${column}`).join('')}
FROM (${sql}
)`;
}

export function controlRoom() {
  const calls999 = standard('calls-999-answer');
  const target999 = targetShare(calls999);
  const attendance = standard('fire-attendance-standard');
  const builder = bluelightDashboard(
    'bluelight-control-room',
    'Control room',
    "The live picture: calls waiting, 999 answering, open incidents, appliances on the run, today's attendance and how fresh the data is.",
  )
    .refresh('10s')
    .time({ from: 'now-24h', to: 'now' });
  builder.withVariable(agencyVariable());
  for (const variable of incidentVariables()) builder.withVariable(variable);

  builder.withPanel(
    new stat.PanelBuilder()
      .title('Calls waiting now')
      .description(
        'Calls presented and not yet answered, abandoned or closed (presented in the last hour).',
      )
      .withTarget(chQuery(callsWaitingSql('variable', true)))
      .thresholds(steps([null, 'green'], [3, 'orange'], [10, 'red']))
      .colorMode(common.BigValueColorMode.Background)
      // One row per line: every row is a value (Grafana would otherwise reduce to the last row).
      .reduceOptions(perRow('waiting'))
      .textMode(common.BigValueTextMode.ValueAndName)
      .gridPos(gridPos(0, 0, 4, 5)),
  );
  builder.withPanel(
    new stat.PanelBuilder()
      .title('999 answered within 10 s — last hour')
      .description(
        `${calls999.name}, computed by the calls-999-answer standard over the last hour; target ${target999 ?? '—'}.`,
      )
      .timeFrom('1h')
      .withTarget(
        chQuery(
          standardFigureSql('calls-999-answer', callKpiSql(calls999, 'none', { instants: true }), [
            'n',
            'met',
          ]),
        ),
      )
      .unit('percentunit')
      .decimals(1)
      .thresholds(
        targetThresholds(target999, target999 === undefined ? undefined : warningLevel(target999)),
      )
      .colorMode(common.BigValueColorMode.Background)
      .noValue('insufficient data')
      .reduceOptions(
        new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/^value$/'),
      )
      .gridPos(gridPos(4, 0, 5, 5)),
  );
  builder.withPanel(
    new barchart.PanelBuilder()
      .title('999 answer times — last hour')
      .timeFrom('1h')
      .withTarget(chQuery(answerBandsSql('calls-999-answer', true)))
      .xField('band')
      .showValue(common.VisibilityMode.Always)
      .gridPos(gridPos(9, 0, 6, 5)),
  );
  builder.withPanel(
    new stat.PanelBuilder()
      .title('Attendance standard — last 24 h')
      .description(
        `${attendance.name} over incidents whose call came in the last 24 hours; target ${targetShare(attendance)}.`,
      )
      .timeFrom('24h')
      .withTarget(
        chQuery(
          standardFigureSql(
            'fire-attendance-standard',
            incidentKpiSql(attendance, 'none', { instants: true, filters: INCIDENT_KPI_FILTERS }),
            ['n', 'met'],
          ),
        ),
      )
      .unit('percentunit')
      .decimals(1)
      .thresholds(targetThresholds(targetShare(attendance)))
      .colorMode(common.BigValueColorMode.Background)
      .noValue('insufficient data')
      .reduceOptions(
        new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields('/^value$/'),
      )
      .gridPos(gridPos(15, 0, 5, 5)),
  );
  builder.withPanel(
    new stat.PanelBuilder()
      .title('Ingestion delay')
      .description('Seconds since the newest event of each family was written to ClickHouse.')
      .withTarget(chQuery(ingestionDelayByFamilySql()))
      .unit('s')
      .thresholds(steps([null, 'green'], [30, 'orange'], [60, 'red']))
      .reduceOptions(perRow('delay_seconds'))
      .textMode(common.BigValueTextMode.ValueAndName)
      .gridPos(gridPos(20, 0, 4, 5)),
  );
  builder.withPanel(
    new barchart.PanelBuilder()
      .title('Open incidents by category')
      .description('Incidents received in the last 7 days, not cancelled and not closed.')
      .withTarget(
        chQuery(`
SELECT CAST(category AS String) AS category, count() AS open
FROM ${incidentFactsFrom(daysOf({ from: '$__toTime - INTERVAL 7 DAY', to: '$__toTime' }))}
WHERE cancelled = 0
  AND ifNull(call_received_at, created_at) <= $__toTime
  AND ifNull(call_received_at, created_at) > $__toTime - INTERVAL 7 DAY
  AND ifNull(closed_at > $__toTime, 1)
  AND ${incidentVariableFilter()}
GROUP BY category
ORDER BY category`),
      )
      .xField('category')
      .showValue(common.VisibilityMode.Always)
      .gridPos(gridPos(0, 5, 8, 8)),
  );
  builder.withPanel(
    new stat.PanelBuilder()
      .title('Appliances on the run now')
      .description(
        'By home station and crewing model: appliances whose current status is on the run (available or committed).',
      )
      .withTarget(
        chQuery(`
SELECT concat(CAST(home_station AS String), ' · ', CAST(crewing_model AS String)) AS appliances, countIf(available = 1) AS on_the_run
FROM ${resourceIntervalsFrom({ from: END_OF_RANGE, to: END_OF_RANGE })}
GROUP BY appliances
ORDER BY appliances`),
      )
      .reduceOptions(perRow('on_the_run'))
      .textMode(common.BigValueTextMode.ValueAndName)
      .gridPos(gridPos(8, 5, 8, 8)),
  );
  builder.withPanel(
    new statetimeline.PanelBuilder()
      .title('Appliance status')
      .description('1 = on the run (available or committed), 0 = off the run, per appliance.')
      .withTarget(
        chQuery(`
SELECT greatest(start_at, toDateTime64($__fromTime, 3)) AS time,
  concat(resource_id, ' (', CAST(crewing_model AS String), ')') AS appliance,
  available AS on_the_run
FROM ${resourceIntervalsFrom({ from: 'toDateTime64($__fromTime, 3)', to: END_OF_RANGE })}
ORDER BY time, appliance`).timeSeries(),
      )
      .mappings([
        {
          type: dashboard.MappingType.ValueToText,
          options: {
            '0': { text: 'off the run', color: 'red', index: 0 },
            '1': { text: 'on the run', color: 'green', index: 1 },
          },
        },
      ])
      .spanNulls(true)
      .gridPos(gridPos(16, 5, 8, 8)),
  );
  return builder;
}
