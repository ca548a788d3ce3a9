/**
 * The types `dashboard-schema.ts` converts to JSON Schema with ts-json-schema-generator, under
 * names unique across the SDK's packages (every panel package calls its types `Options` and
 * `FieldConfig`). Types only: the generator reads this file, nothing imports its values.
 *
 * A panel package without a `FieldConfig` (stat) has no custom field config.
 */
import type * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import type * as stat from '@grafana/grafana-foundation-sdk/stat';
import type * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import type * as table from '@grafana/grafana-foundation-sdk/table';
import type * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

export type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
export type { ClickHouseQuery } from '../clickhouse-query.js';

export type StatOptions = stat.Options;
export type BarchartOptions = barchart.Options;
export type BarchartFieldConfig = barchart.FieldConfig;
export type TimeseriesOptions = timeseries.Options;
export type TimeseriesFieldConfig = timeseries.FieldConfig;
export type TableOptions = table.Options;
export type TableFieldConfig = table.FieldConfig;
export type StatetimelineOptions = statetimeline.Options;
export type StatetimelineFieldConfig = statetimeline.FieldConfig;
