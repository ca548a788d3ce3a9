import * as common from '@grafana/grafana-foundation-sdk/common';
import { describe, expect, it } from 'vitest';
import { generatedFiles } from './output.js';
import {
  DATAQUERY_AS_GENERATED,
  generateSchemas,
  loadDashboardSchemas,
  SCHEMA_TYPES,
  type SchemaError,
  validateDashboard,
} from './testing/dashboard-schema.js';

// Generated from the SDK's .d.ts files once for this file (about a second).
const generated = generateSchemas();
const schemas = loadDashboardSchemas(generated);
const dashboards = [...generatedFiles()].filter(([file]) => file.endsWith('.json'));

/** The committed control room with one change made to a copy. */
// biome-ignore lint/suspicious/noExplicitAny: a test edits the parsed JSON freely
function controlRoomWith(change: (json: any) => void) {
  const content = dashboards.find(([file]) => file.endsWith('control-room.json'))?.[1] ?? '{}';
  const json = JSON.parse(content);
  change(json);
  return validateDashboard(json, schemas);
}

/** An error as one line: path, keyword, params. */
const brief = (errors: SchemaError[]) =>
  errors.map((error) => `${error.path} ${error.keyword} ${JSON.stringify(error.params)}`);

/** A definition of a generated schema. */
// biome-ignore lint/suspicious/noExplicitAny: reads into generated JSON Schema
const definition = (type: string, name: string): any => generated.get(type)?.definitions?.[name];

describe("generated dashboards against JSON Schemas derived from the SDK's TypeScript types", () => {
  it('checks all six dashboards', () => {
    expect(dashboards.map(([file]) => file.split('/').at(-1))).toEqual([
      'control-room.json',
      'response-standards.json',
      'call-handling.json',
      'appliance-availability.json',
      'pipeline-health.json',
      'appliances-cover.json',
    ]);
  });

  for (const [file, content] of dashboards) {
    it(`${file} validates`, () => {
      expect(validateDashboard(JSON.parse(content), schemas)).toEqual([]);
    });
  }

  it('knows the panel types by the plugin id the SDK writes', () => {
    expect([...schemas.panels.keys()]).toEqual([
      'stat',
      'barchart',
      'timeseries',
      'table',
      'state-timeline',
    ]);
  });

  it('fails on an unknown panel type', () => {
    expect(
      controlRoomWith((json) => {
        json.panels[0].type = 'graph';
      }),
    ).toEqual([
      {
        path: '/panels/0/type',
        keyword: 'enum',
        message:
          'must be a panel type with a schema (stat, barchart, timeseries, table, state-timeline)',
        params: { allowedValues: ['stat', 'barchart', 'timeseries', 'table', 'state-timeline'] },
      },
    ]);
  });

  it('fails on a query without a data source uid, or of another data source', () => {
    expect(
      controlRoomWith((json) => {
        delete json.panels[1].targets[0].datasource.uid;
      }),
    ).toEqual([
      {
        path: '/panels/1/targets/0/datasource',
        keyword: 'required',
        message: "must have required property 'uid'",
        params: { missingProperty: 'uid' },
      },
    ]);
    expect(
      controlRoomWith((json) => {
        json.panels[1].targets[0].datasource.uid = '';
      }),
    ).toEqual([
      {
        path: '/panels/1/targets/0/datasource/uid',
        keyword: 'minLength',
        message: 'must NOT have fewer than 1 characters',
        params: { limit: 1 },
      },
    ]);
    expect(
      controlRoomWith((json) => {
        json.panels[1].targets[0].datasource.type = 'prometheus';
      }),
    ).toEqual([
      {
        path: '/panels/1/targets/0/datasource/type',
        keyword: 'const',
        message: 'must be equal to constant',
        params: { allowedValue: 'grafana-clickhouse-datasource' },
      },
    ]);
  });

  it('fails on a malformed query, and on a panel without one', () => {
    expect(
      controlRoomWith((json) => {
        const target = json.panels[2].targets[0];
        target.format = 'table';
        delete target.rawSql;
        target.sql = 'SELECT 1';
      }),
    ).toEqual([
      {
        path: '/panels/2/targets/0',
        keyword: 'required',
        message: "must have required property 'rawSql'",
        params: { missingProperty: 'rawSql' },
      },
      {
        path: '/panels/2/targets/0',
        keyword: 'additionalProperties',
        message: 'must NOT have additional properties',
        params: { additionalProperty: 'sql' },
      },
      {
        path: '/panels/2/targets/0/format',
        keyword: 'type',
        message: 'must be number',
        params: { type: 'number' },
      },
      {
        path: '/panels/2/targets/0/format',
        keyword: 'enum',
        message: 'must be equal to one of the allowed values',
        params: { allowedValues: [0, 1] },
      },
    ]);
    expect(
      controlRoomWith((json) => {
        json.panels[2].targets = [];
      }),
    ).toEqual([
      {
        path: '/panels/2/targets',
        keyword: 'minItems',
        message: 'a panel needs at least one query',
        params: { limit: 1 },
      },
    ]);
  });

  it("fails on a panel option outside its plugin's schema, also in a row", () => {
    expect(
      controlRoomWith((json) => {
        json.panels[0].options.colorMode = 'rainbow';
      }),
    ).toEqual([
      {
        path: '/panels/0/options/colorMode',
        keyword: 'enum',
        message: 'must be equal to one of the allowed values',
        params: { allowedValues: ['value', 'background', 'background_solid', 'none'] },
      },
    ]);
    expect(
      brief(
        controlRoomWith((json) => {
          const [first] = json.panels;
          first.options.colorMode = 'rainbow';
          json.panels = [{ type: 'row', collapsed: true, id: 99, panels: [first] }];
        }),
      ),
    ).toEqual([
      `/panels/0/panels/0/options/colorMode enum {"allowedValues":["value","background","background_solid","none"]}`,
    ]);
  });

  it('fails on custom field config for a panel type that has none (stat), or outside the schema', () => {
    expect(
      brief(
        controlRoomWith((json) => {
          json.panels[0].fieldConfig.defaults.custom = { lineWidth: 1 };
          json.panels[7].fieldConfig.defaults.custom.fillOpacity = 'half';
        }),
      ),
    ).toEqual([
      '/panels/0/fieldConfig/defaults/custom false schema {}',
      '/panels/7/fieldConfig/defaults/custom/fillOpacity type {"type":"number"}',
    ]);
  });

  it('fails on a dashboard field Grafana does not have', () => {
    expect(
      controlRoomWith((json) => {
        json.refreshEvery = '10s';
      }),
    ).toEqual([
      {
        path: '',
        keyword: 'additionalProperties',
        message: 'must NOT have additional properties',
        params: { additionalProperty: 'refreshEvery' },
      },
    ]);
  });

  it('reports a bad panel field under both members of the Panel | RowPanel union', () => {
    // The SDK's `panels` is `(Panel | RowPanel)[]`, an anyOf: Ajv reports why each member failed.
    expect(
      brief(
        controlRoomWith((json) => {
          json.panels[0].gridPos.w = 'wide';
        }),
      ),
    ).toEqual([
      '/panels/0/gridPos/w type {"type":"number"}',
      '/panels/0 required {"missingProperty":"collapsed"}',
      '/panels/0 required {"missingProperty":"id"}',
      '/panels/0 required {"missingProperty":"panels"}',
      '/panels/0 additionalProperties {"additionalProperty":"transparent"}',
      '/panels/0 additionalProperties {"additionalProperty":"repeatDirection"}',
      '/panels/0 additionalProperties {"additionalProperty":"options"}',
      '/panels/0 additionalProperties {"additionalProperty":"description"}',
      '/panels/0 additionalProperties {"additionalProperty":"targets"}',
      '/panels/0 additionalProperties {"additionalProperty":"fieldConfig"}',
      '/panels/0/type const {"allowedValue":"row"}',
      '/panels/0/gridPos/w type {"type":"number"}',
      '/panels/0 anyOf {}',
    ]);
  });
});

describe('the schemas derived from the installed SDK', () => {
  it('are generated for every type named in schema-types.ts', () => {
    expect([...generated.keys()]).toEqual(SCHEMA_TYPES);
    expect(SCHEMA_TYPES).toEqual([
      'Dashboard',
      'ClickHouseQuery',
      'StatOptions',
      'BarchartOptions',
      'BarchartFieldConfig',
      'TimeseriesOptions',
      'TimeseriesFieldConfig',
      'TableOptions',
      'TableFieldConfig',
      'StatetimelineOptions',
      'StatetimelineFieldConfig',
    ]);
  });

  it("carry the SDK's enums", () => {
    expect(definition('StatOptions', 'BigValueColorMode').enum).toEqual(
      Object.values(common.BigValueColorMode),
    );
  });

  it('agree with the TypeScript types where the copied cog schemas did not', () => {
    // `query?: string | Record<string, any>`: any object (a data source's query), or a string.
    expect(definition('Dashboard', 'VariableModel').properties.query).toEqual({
      anyOf: [{ type: 'string' }, { type: 'object' }],
    });
    // `any`: anything.
    expect(definition('Dashboard', 'MatcherConfig').properties.options).toEqual({});
    expect(definition('Dashboard', 'DynamicConfigValue').properties.value).toEqual({});
    // Each TableCellOptions member is told apart by its literal `type`.
    const members = definition('TableFieldConfig', 'TableCellOptions').anyOf as { $ref: string }[];
    const literals = members.map(
      ({ $ref }) =>
        definition('TableFieldConfig', $ref.replace('#/definitions/', '')).properties.type.const,
    );
    expect(literals).toEqual([
      'auto',
      'sparkline',
      'gauge',
      'color-background',
      'color-text',
      'image',
      'data-links',
      'actions',
      'json-view',
    ]);
  });

  it('leave cog.Dataquery, a marker interface with only a method, to the ClickHouse query check', () => {
    expect(definition('Dashboard', 'Dataquery')).toEqual(DATAQUERY_AS_GENERATED);
    expect(definition('Dashboard', 'Panel').properties.targets.items).toEqual({
      $ref: '#/definitions/Dataquery',
    });
  });
});
