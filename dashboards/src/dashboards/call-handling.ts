import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { chQuery } from '../clickhouse-query.js';
import { callFactsFrom } from '../facts.js';
import { callKpiSql, groupTimeSql, standard, statisticSql, targetShare } from '../kpi-sql.js';
import {
  agencyVariable,
  columnVariable,
  gridPos,
  inVariable,
  targetThresholds,
  thresholdLine,
} from '../panels.js';
import { bluelightDashboard } from './common.js';
import { answerBandsSql, standardFigureSql, warningLevel } from './control-room.js';

const filters = { queue: 'queue' };

/** Calls presented in the range per line and Grafana interval: all of them, or those `where`. */
function callVolumeSql(name: string, where = '1') {
  return `
SELECT $__timeInterval(presented_at) AS time, CAST(line AS String) AS line, countIf(${where}) AS ${name}
FROM ${callFactsFrom()}
WHERE $__timeFilter(presented_at)
  AND ${inVariable('queue', 'queue')}
GROUP BY time, line
ORDER BY time, line`;
}

export function callHandling() {
  const calls999 = standard('calls-999-answer');
  const target = targetShare(calls999);
  const triage = standard('calls-101-triage');
  const builder = bluelightDashboard(
    'bluelight-call-handling',
    'Call handling',
    '999 and 101 calls: volumes, answering against the 999 standard, abandoned calls and 101 triage.',
  )
    .refresh('1m')
    .time({ from: 'now-7d', to: 'now' })
    .withVariable(agencyVariable())
    .withVariable(
      columnVariable(
        'queue',
        'Queue',
        `SELECT DISTINCT presentation.queue AS value FROM call_facts WHERE presentation.queue != ''`,
      ),
    );

  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('Calls presented, 999 and 101')
      .withTarget(chQuery(callVolumeSql('calls')).timeSeries())
      .interval('5m')
      .drawStyle(common.GraphDrawStyle.Bars)
      .fillOpacity(60)
      .gridPos(gridPos(0, 0, 12, 8)),
  );
  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('Abandoned calls')
      .withTarget(chQuery(callVolumeSql('abandoned', 'abandoned_at IS NOT NULL')).timeSeries())
      .interval('5m')
      .drawStyle(common.GraphDrawStyle.Bars)
      .fillOpacity(60)
      .gridPos(gridPos(12, 0, 12, 8)),
  );
  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('999 answered within 10 s, by day')
      .description(`${calls999.description} Target ${target}.`)
      .withTarget(
        chQuery(`
SELECT ${groupTimeSql('day')} AS time, ${statisticSql(calls999)} AS "Within 10 s"
FROM (${callKpiSql(calls999, 'day', { filters })}
)
ORDER BY time`).timeSeries(),
      )
      .unit('percentunit')
      .min(0)
      .max(1)
      .thresholds(targetThresholds(target, target === undefined ? undefined : warningLevel(target)))
      .thresholdsStyle(thresholdLine())
      .showPoints(common.VisibilityMode.Always)
      .gridPos(gridPos(0, 8, 12, 8)),
  );
  builder.withPanel(
    new stat.PanelBuilder()
      .title('999 over the range')
      .withTarget(
        chQuery(
          standardFigureSql('calls-999-answer', callKpiSql(calls999, 'none', { filters }), [
            'mean_seconds',
            'abandoned',
            'calls',
          ]),
        ),
      )
      .overrideByName('value', [
        { id: 'unit', value: 'percentunit' },
        { id: 'displayName', value: 'Within 10 s' },
      ])
      .overrideByName('mean_seconds', [
        { id: 'unit', value: 's' },
        { id: 'displayName', value: 'Mean wait' },
      ])
      .thresholds(targetThresholds(target))
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields(''))
      .textMode(common.BigValueTextMode.ValueAndName)
      .noValue('insufficient data')
      .gridPos(gridPos(12, 8, 6, 8)),
  );
  builder.withPanel(
    new barchart.PanelBuilder()
      .title('999 answer-time bands')
      .withTarget(chQuery(answerBandsSql('calls-999-answer', false)))
      .xField('band')
      .showValue(common.VisibilityMode.Always)
      .gridPos(gridPos(18, 8, 6, 8)),
  );
  builder.withPanel(
    new stat.PanelBuilder()
      .title('101 resolved at triage')
      .description(`${triage.description}`)
      .withTarget(
        chQuery(
          standardFigureSql('calls-101-triage', callKpiSql(triage, 'none', { filters }), [
            'mean_seconds',
            'n',
          ]),
        ),
      )
      .overrideByName('value', [
        { id: 'unit', value: 'percentunit' },
        { id: 'displayName', value: 'Resolved at triage' },
      ])
      .overrideByName('mean_seconds', [
        { id: 'unit', value: 's' },
        { id: 'displayName', value: 'Mean triage time' },
      ])
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).fields(''))
      .textMode(common.BigValueTextMode.ValueAndName)
      .noValue('insufficient data')
      .gridPos(gridPos(0, 16, 8, 8)),
  );
  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('101 resolved at triage, by day')
      .withTarget(
        chQuery(`
SELECT ${groupTimeSql('day')} AS time, ${statisticSql(triage)} AS "Resolved at triage"
FROM (${callKpiSql(triage, 'day', { filters })}
)
ORDER BY time`).timeSeries(),
      )
      .unit('percentunit')
      .min(0)
      .max(1)
      .showPoints(common.VisibilityMode.Always)
      .gridPos(gridPos(8, 16, 16, 8)),
  );
  return builder;
}
