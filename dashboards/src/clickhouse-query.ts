import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import { CLICKHOUSE_PLUGIN_VERSION } from './grafana-versions.js';

/**
 * A reference to a grafana-clickhouse-datasource data source: the type and uid Grafana needs to
 * find it (the SDK's `common.DataSourceRef` has both optional).
 */
export interface ClickHouseDataSourceRef extends common.DataSourceRef {
  type: 'grafana-clickhouse-datasource';
  /** @minLength 1 */
  uid: string;
}

/** The data source every dashboard and alert uses (infra/grafana/provisioning/datasources). */
export const CLICKHOUSE_DATASOURCE: ClickHouseDataSourceRef = {
  type: 'grafana-clickhouse-datasource',
  uid: 'bluelight-clickhouse',
};

/**
 * The result shape the plugin returns (sqlutil.FormatQueryOption in grafana-plugin-sdk-go, the
 * plugin's `Format` enum): a time series frame (long rows turned wide, one series per String
 * label column) or a table frame.
 */
export const Format = { TimeSeries: 0, Table: 1 } as const;
export type Format = (typeof Format)[keyof typeof Format];

/**
 * The query the grafana-clickhouse-datasource plugin (v4) stores for its SQL editor (the fields of
 * its `CHSqlQuery` that Bluelight writes). `dashboard-schema.ts` derives the JSON Schema every
 * panel query is validated against from this type, JSDoc constraints included.
 */
export interface ClickHouseQuery extends cog.Dataquery {
  /** @minLength 1 */
  refId: string;
  datasource: ClickHouseDataSourceRef;
  editorType: 'sql';
  /**
   * The plugin's QueryType enum (src/types/queryBuilder.ts: `table`, `timeseries`, `logs`,
   * `traces`): how the editor shows the result.
   */
  queryType: 'table' | 'timeseries';
  /** The plugin release the query was written for; without it the editor migrates the query. */
  pluginVersion: string;
  format: Format;
  /** @minLength 1 */
  rawSql: string;
  hide?: boolean;
}

/** A cog builder for the plugin's raw-SQL query (the foundation SDK has no ClickHouse package). */
export class ClickHouseQueryBuilder implements cog.Builder<cog.Dataquery> {
  private readonly internal: Omit<ClickHouseQuery, '_implementsDataqueryVariant'>;

  constructor(rawSql: string) {
    this.internal = {
      refId: 'A',
      datasource: CLICKHOUSE_DATASOURCE,
      editorType: 'sql',
      queryType: 'table',
      pluginVersion: CLICKHOUSE_PLUGIN_VERSION,
      format: Format.Table,
      rawSql: rawSql.trim(),
    };
  }

  build(): ClickHouseQuery {
    return { ...this.internal, _implementsDataqueryVariant: () => {} };
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  /** Rows of (time, value columns…, String label columns): one series per label combination. */
  timeSeries(): this {
    this.internal.format = Format.TimeSeries;
    this.internal.queryType = 'timeseries';
    return this;
  }

  table(): this {
    this.internal.format = Format.Table;
    this.internal.queryType = 'table';
    return this;
  }

  hide(hide: boolean): this {
    this.internal.hide = hide;
    return this;
  }
}

/** A raw-SQL ClickHouse query (table format unless `.timeSeries()`). */
export const chQuery = (rawSql: string) => new ClickHouseQueryBuilder(rawSql);
