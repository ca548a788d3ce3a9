/**
 * Validates a dashboard's JSON against JSON Schemas derived, when loaded, from the installed
 * Grafana Foundation SDK's TypeScript types by ts-json-schema-generator (the types are listed in
 * `schema-types.ts`), with Ajv:
 * - the dashboard itself (`dashboard.Dashboard`);
 * - each panel's `options` and custom field config (`fieldConfig.defaults.custom`) against its
 *   panel package's `Options` and `FieldConfig` (a panel type without a package here is an
 *   error; a package without a `FieldConfig`, stat, allows no custom field config);
 * - each query against `ClickHouseQuery` (clickhouse-query.ts: the SDK has no ClickHouse
 *   package), whose data source must be the ClickHouse plugin with a uid.
 *
 * What the TypeScript types cannot say is checked here in code: the SDK's `cog.Dataquery` is a
 * marker interface whose only member is a method, so it converts to "an object with no
 * properties" and the dashboard schema leaves queries to the ClickHouse check; and a panel must
 * have at least one query (`Panel.targets` is optional in the SDK; a panel without one shows
 * nothing).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { Ajv, type ErrorObject, type SchemaObject, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import { createGenerator } from 'ts-json-schema-generator';

// ajv-formats is CommonJS: its plugin is both `module.exports` and `module.exports.default`.
const addFormats = ajvFormats.default;

const SRC = path.dirname(fileURLToPath(import.meta.url));
/** The file naming the types to convert. */
export const SCHEMA_TYPES_FILE = path.join(SRC, 'schema-types.ts');
/** The project's compiler options, so the generator resolves the SDK's subpaths as tsc does. */
const TSCONFIG = path.resolve(SRC, '../../../tsconfig.json');

/**
 * The panel plugins a dashboard may use, keyed by the plugin id the SDK's PanelBuilder writes as
 * `type` (statetimeline's is "state-timeline"), with the names of their types in
 * schema-types.ts.
 */
const PANEL_PLUGINS = [
  { builder: () => new stat.PanelBuilder(), options: 'StatOptions' },
  {
    builder: () => new barchart.PanelBuilder(),
    options: 'BarchartOptions',
    fieldConfig: 'BarchartFieldConfig',
  },
  {
    builder: () => new timeseries.PanelBuilder(),
    options: 'TimeseriesOptions',
    fieldConfig: 'TimeseriesFieldConfig',
  },
  {
    builder: () => new table.PanelBuilder(),
    options: 'TableOptions',
    fieldConfig: 'TableFieldConfig',
  },
  {
    builder: () => new statetimeline.PanelBuilder(),
    options: 'StatetimelineOptions',
    fieldConfig: 'StatetimelineFieldConfig',
  },
] as const satisfies readonly {
  builder: () => cog.Builder<dashboard.Panel>;
  options: string;
  fieldConfig?: string;
}[];

/** Every type converted: the dashboard, the ClickHouse query, each panel's types. */
export const SCHEMA_TYPES = [
  'Dashboard',
  'ClickHouseQuery',
  ...PANEL_PLUGINS.flatMap((plugin) =>
    'fieldConfig' in plugin ? [plugin.options, plugin.fieldConfig] : [plugin.options],
  ),
];

/** What ts-json-schema-generator makes of `cog.Dataquery` (its method is no JSON). */
export const DATAQUERY_AS_GENERATED = { type: 'object', additionalProperties: false };

/**
 * The JSON Schema (draft-07) of each type in SCHEMA_TYPES, generated from the installed SDK's
 * .d.ts files (one TypeScript program, about a second). A type with a function-valued property
 * fails rather than being approximated.
 */
export function generateSchemas(): Map<string, SchemaObject> {
  const generator = createGenerator({
    path: SCHEMA_TYPES_FILE,
    tsconfig: TSCONFIG,
    // tsc typechecks the project; the generator only needs the declarations.
    skipTypeCheck: true,
    functions: 'fail',
    // Descriptions and JSDoc constraints such as `@minLength` (clickhouse-query.ts).
    jsDoc: 'extended',
  });
  return new Map(SCHEMA_TYPES.map((type) => [type, generator.createSchema(type) as SchemaObject]));
}

/**
 * The dashboard schema with `cog.Dataquery` (each panel's `targets`) left open: the query is
 * the data source's, validated against ClickHouseQuery by validateDashboard. Fails if the
 * generated node ever differs, so the substitution is revisited.
 */
function openDataquery(dashboard: SchemaObject): SchemaObject {
  const definitions = dashboard.definitions as Record<string, unknown>;
  if (JSON.stringify(definitions.Dataquery) !== JSON.stringify(DATAQUERY_AS_GENERATED)) {
    throw new Error('the generated Dataquery schema changed: revisit openDataquery');
  }
  return { ...dashboard, definitions: { ...definitions, Dataquery: true } };
}

interface PanelValidators {
  options: ValidateFunction;
  /** Absent when the panel package has no FieldConfig. */
  fieldConfig?: ValidateFunction;
}

export interface DashboardSchemas {
  dashboard: ValidateFunction;
  query: ValidateFunction;
  /** By panel plugin id. */
  panels: Map<string, PanelValidators>;
}

export function loadDashboardSchemas(schemas = generateSchemas()): DashboardSchemas {
  // strict: a keyword Ajv does not know is an error, never silently ignored; union types
  // (`type: ["boolean", "number"]`) are how the generator writes `boolean | number`.
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  const compile = (type: string) => {
    const schema = schemas.get(type);
    if (!schema) throw new Error(`no schema generated for ${type}`);
    return ajv.compile(type === 'Dashboard' ? openDataquery(schema) : schema);
  };
  return {
    dashboard: compile('Dashboard'),
    query: compile('ClickHouseQuery'),
    panels: new Map(
      PANEL_PLUGINS.map((plugin) => [
        String(plugin.builder().build().type),
        {
          options: compile(plugin.options),
          ...('fieldConfig' in plugin ? { fieldConfig: compile(plugin.fieldConfig) } : {}),
        },
      ]),
    ),
  };
}

/** One violation: where (a JSON pointer into the dashboard), which keyword, Ajv's message. */
export interface SchemaError {
  path: string;
  keyword: string;
  message: string;
  params: Record<string, unknown>;
}

function run(validate: ValidateFunction, value: unknown, at: string): SchemaError[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error: ErrorObject) => ({
    path: at + error.instancePath,
    keyword: error.keyword,
    message: error.message ?? error.keyword,
    params: error.params,
  }));
}

interface PanelJson {
  type?: unknown;
  options?: unknown;
  fieldConfig?: { defaults?: { custom?: unknown } };
  targets?: unknown;
  panels?: PanelJson[];
}

function validatePanel(panel: PanelJson, at: string, schemas: DashboardSchemas): SchemaError[] {
  const plugin = schemas.panels.get(String(panel.type));
  if (!plugin) {
    const allowedValues = [...schemas.panels.keys()];
    return [
      {
        path: `${at}/type`,
        keyword: 'enum',
        message: `must be a panel type with a schema (${allowedValues.join(', ')})`,
        params: { allowedValues },
      },
    ];
  }
  const errors: SchemaError[] = [];
  if (panel.options !== undefined)
    errors.push(...run(plugin.options, panel.options, `${at}/options`));
  const custom = panel.fieldConfig?.defaults?.custom;
  if (custom !== undefined) {
    const where = `${at}/fieldConfig/defaults/custom`;
    if (plugin.fieldConfig) errors.push(...run(plugin.fieldConfig, custom, where));
    else {
      errors.push({
        path: where,
        keyword: 'false schema',
        message: `panel type ${String(panel.type)} has no custom field config`,
        params: {},
      });
    }
  }
  const targets = Array.isArray(panel.targets) ? panel.targets : [];
  if (targets.length === 0) {
    errors.push({
      path: `${at}/targets`,
      keyword: 'minItems',
      message: 'a panel needs at least one query',
      params: { limit: 1 },
    });
  }
  targets.forEach((target, index) => {
    errors.push(...run(schemas.query, target, `${at}/targets/${index}`));
  });
  return errors;
}

/** Every schema violation of a dashboard's JSON; [] when valid. */
export function validateDashboard(json: unknown, schemas = loadDashboardSchemas()): SchemaError[] {
  const errors = run(schemas.dashboard, json, '');
  const panels = (json as { panels?: unknown })?.panels;
  (Array.isArray(panels) ? (panels as PanelJson[]) : []).forEach((panel, index) => {
    const at = `/panels/${index}`;
    if (panel?.type !== 'row') errors.push(...validatePanel(panel ?? {}, at, schemas));
    else {
      (panel.panels ?? []).forEach((child, inRow) => {
        errors.push(...validatePanel(child, `${at}/panels/${inRow}`, schemas));
      });
    }
  });
  return errors;
}
