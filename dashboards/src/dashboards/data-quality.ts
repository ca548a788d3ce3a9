import {
  DATA_QUALITY_CHECK_DESCRIPTIONS,
  DATA_QUALITY_CHECKS,
  type DataQualityCheck,
  dataQualityRecordsQuery,
  dataQualitySummaryQuery,
} from '@bluelight/standards';
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import { chQuery } from '../clickhouse-query.js';
import { RANGE_DAYS } from '../kpi-sql.js';
import { AGENCY_VARIABLE, gridPos, steps, variableConditions } from '../panels.js';
import { renderParameters } from '../sql.js';
import { ident, label } from './common.js';

/** How each check is titled on the dashboard. */
export const DATA_QUALITY_LABELS: Record<DataQualityCheck, string> = {
  out_of_sequence: 'Out of sequence',
  missing_mobilisation: 'Missing mobilisation',
  missing_arrival: 'Missing arrival',
  no_clock_stop: 'No clock stop',
  clock_skew: 'Clock skew',
  late_ingest: 'Late ingest',
};

/** Records shown in the table of recent records. */
const RECENT_RECORDS = 100;

/**
 * The data-quality report's SQL (@bluelight/standards) as Grafana runs it: the London days of the
 * dashboard's range, the agency variable's agencies (All: every agency), the default thresholds.
 */
function rendered({ query, params }: { query: string; params: Record<string, unknown> }) {
  const sql = renderParameters(query, params, {
    from: RANGE_DAYS.from,
    to: RANGE_DAYS.to,
    agencies: `[\${${AGENCY_VARIABLE}:singlequote}]`,
  });
  return variableConditions(sql, AGENCY_VARIABLE);
}

// The request's own values are placeholders the renderer replaces (days, agencies).
const REQUEST = { agencies: ['placeholder'], from: '2000-01-01', to: '2000-01-01' };

/** One row: the records each check flagged over the range. */
export function dataQualityCountsSql(): string {
  return `
SELECT
  ${DATA_QUALITY_CHECKS.map((check) => `sumIf(records, quality_check = ${label(check)}) AS ${ident(DATA_QUALITY_LABELS[check])}`).join(',\n  ')}
FROM (${rendered(dataQualitySummaryQuery(REQUEST))}
)`;
}

/** The latest flagged records over the range. */
export function recentRecordsSql(): string {
  return `
SELECT day_text AS day, quality_check AS check, agency, source, entity, entity_id AS id, detail, seconds
FROM (${rendered(dataQualityRecordsQuery({ ...REQUEST, limit: RECENT_RECORDS, newestFirst: true }))}
)`;
}

/**
 * The "Data quality" panels, side by side below the figures: a count per check and the latest
 * records, so an analyst sees what to fix at the source before trusting the figures above them
 * (docs/data-quality.md). Panels rather than a collapsible row: every panel of a dashboard here
 * carries its own query.
 */
export function withDataQualityRow(builder: dashboard.DashboardBuilder, y: number): void {
  builder.withPanel(
    new stat.PanelBuilder()
      .title('Data quality: records flagged per check')
      .description(
        `Incidents and calls of the range (London days) that a check flagged. ${DATA_QUALITY_CHECKS.map((check) => `${DATA_QUALITY_LABELS[check]}: ${DATA_QUALITY_CHECK_DESCRIPTIONS[check]}.`).join(' ')} See docs/data-quality.md; \`bluelight data-quality --records\` and GET /v1/data-quality/records list them all.`,
      )
      .withTarget(chQuery(dataQualityCountsSql()))
      .thresholds(steps([null, 'green'], [1, 'orange']))
      .colorMode(common.BigValueColorMode.Background)
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']))
      .gridPos(gridPos(0, y, 24, 4)),
  );
  builder.withPanel(
    new table.PanelBuilder()
      .title('Data quality: latest records flagged')
      .description(
        `The ${RECENT_RECORDS} latest records (by London day and call time) a check flagged, with what is wrong and by how many seconds.`,
      )
      .withTarget(chQuery(recentRecordsSql()))
      .gridPos(gridPos(0, y + 4, 24, 10)),
  );
}
