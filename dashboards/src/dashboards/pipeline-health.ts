import * as common from '@grafana/grafana-foundation-sdk/common';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { chQuery } from '../clickhouse-query.js';
import { agencyVariable, gridPos, perRow, steps } from '../panels.js';
import { deadLettersSql, ingestionDelayByFamilySql, rawEventsSql } from '../queries.js';
import { bluelightDashboard } from './common.js';

/** An event ingested this long after it happened is "late" (out of the live flow). */
const LATE_AFTER_SECONDS = 300;

export function pipelineHealth() {
  const builder = bluelightDashboard(
    'bluelight-pipeline',
    'Pipeline health',
    'Kafka → ClickHouse: events per second, dead letters, event time → queryable delay, late and corrected events.',
  )
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    // Events by agency; dead letters are the pipeline's own (a refused message may have none).
    .withVariable(agencyVariable());

  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('Events ingested per second, by family')
      .withTarget(
        chQuery(`
SELECT $__timeInterval(_ingested_at) AS time, family, count() / $__interval_s AS events_per_second
FROM (
${rawEventsSql('$__timeFilter(_ingested_at)')}
)
GROUP BY time, family
ORDER BY time, family`).timeSeries(),
      )
      .unit('ops')
      .gridPos(gridPos(0, 0, 12, 8)),
  );
  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('Dead letters per minute, by error class')
      .description('Every dead letter, whatever its agency (a refused message may have none).')
      .withTarget(
        chQuery(`
SELECT $__timeInterval(failed_at) AS time, CAST(error_class AS String) AS error_class, count() * 60 / $__interval_s AS per_minute
FROM dead_letters FINAL
WHERE $__timeFilter(failed_at)
GROUP BY time, error_class
ORDER BY time, error_class`).timeSeries(),
      )
      .drawStyle(common.GraphDrawStyle.Bars)
      .gridPos(gridPos(12, 0, 8, 8)),
  );
  builder.withPanel(
    new stat.PanelBuilder()
      .title('Dead letters — last 10 minutes')
      .description('Every dead letter, whatever its agency (a refused message may have none).')
      .timeFrom('10m')
      .withTarget(chQuery(deadLettersSql()))
      .thresholds(steps([null, 'green'], [1, 'red']))
      .colorMode(common.BigValueColorMode.Background)
      .gridPos(gridPos(20, 0, 4, 4)),
  );
  builder.withPanel(
    new stat.PanelBuilder()
      .title('Since the last event was ingested')
      .withTarget(chQuery(ingestionDelayByFamilySql()))
      .unit('s')
      .thresholds(steps([null, 'green'], [30, 'orange'], [60, 'red']))
      .reduceOptions(perRow('delay_seconds'))
      .textMode(common.BigValueTextMode.ValueAndName)
      .gridPos(gridPos(20, 4, 4, 4)),
  );
  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('Event time → queryable delay')
      .description(
        'Seconds from an event happening to its row being written to ClickHouse (median and 95th percentile per interval).',
      )
      .withTarget(
        chQuery(`
SELECT $__timeInterval(_ingested_at) AS time,
  quantileExact(0.5)(delay) AS "p50",
  quantileExact(0.95)(delay) AS "p95"
FROM (
  SELECT _ingested_at, dateDiff('millisecond', occurred_at, _ingested_at) / 1000 AS delay
  FROM (
${rawEventsSql('$__timeFilter(_ingested_at)')}
  )
)
GROUP BY time
ORDER BY time`).timeSeries(),
      )
      .unit('s')
      .gridPos(gridPos(0, 8, 12, 8)),
  );
  builder.withPanel(
    new timeseries.PanelBuilder()
      .title('Late and corrected events')
      .description(
        `Late: ingested more than ${LATE_AFTER_SECONDS} s after they happened. Corrections and retractions change facts already counted.`,
      )
      .withTarget(
        chQuery(`
SELECT $__timeInterval(_ingested_at) AS time,
  countIf(dateDiff('second', occurred_at, _ingested_at) > ${LATE_AFTER_SECONDS}) AS late,
  countIf(corrects_event_id != '') AS corrections,
  countIf(endsWith(event_type, '.event_retracted')) AS retractions
FROM (
${rawEventsSql('$__timeFilter(_ingested_at)')}
)
GROUP BY time
ORDER BY time`).timeSeries(),
      )
      .drawStyle(common.GraphDrawStyle.Bars)
      .gridPos(gridPos(12, 8, 12, 8)),
  );
  return builder;
}
