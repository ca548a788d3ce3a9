/**
 * The generated provisioning against what the pinned Grafana and ClickHouse plugin expect
 * (docs/grafana.md, "What is checked against which source"): folders, versions, the plugin's
 * query and variable model, runbook links and contact points.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  CHAT_WEBHOOK_URL_ENV,
  CONTACT_POINT,
  EMAIL_ADDRESSES_ENV,
  headingAnchor,
  PLATFORM_CONTACT_POINT,
  RUNBOOK_BASE_URL_ENV,
  RUNBOOK_DOC,
  WEBHOOK_URL_ENV,
} from './alerts.js';
import { provisionFolders } from './folders.js';
import {
  CLICKHOUSE_PLUGIN_ID,
  CLICKHOUSE_PLUGIN_VERSION,
  GRAFANA_SCHEMA_VERSION,
  GRAFANA_VERSION,
} from './grafana-versions.js';
import { generatedFiles, PROVISIONING, REPO_ROOT } from './output.js';

const files = generatedFiles();
const yamlOf = (name: string) => parse(files.get(`${PROVISIONING}/${name}`) ?? '');
const rulesFile = yamlOf('alerting/rules.yaml');
const providerFile = yamlOf('dashboards/bluelight.yaml');
const contactPoints = yamlOf('alerting/contact-points.yaml');
const policies = yamlOf('alerting/policies.yaml');
const dashboards = [...files]
  .filter(([file]) => file.endsWith('.json'))
  .map(([file, content]) => ({ file, json: JSON.parse(content) }));
const rules = rulesFile.groups.flatMap((group: { rules: unknown[] }) => group.rules) as {
  uid: string;
  annotations: Record<string, string>;
  data: { model: Record<string, unknown> }[];
}[];
const compose = parse(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'));
const grafanaEnv: Record<string, string> = compose.services.grafana.environment;

/** Compose's `${VAR:-default}` as docker compose would give it with VAR unset. */
const composeDefault = (value: string) => value.replace(/\$\{\w+:-([^}]*)\}/g, '$1');

describe('folders, as Grafana 12.1 provisions them (alerting first, by title)', () => {
  it('puts the alert rules and the dashboards in one folder, without errors', () => {
    const { folders, errors } = provisionFolders(rulesFile, providerFile);
    expect(errors).toEqual([]);
    expect(folders).toHaveLength(1);
    expect(folders[0]?.holds.sort()).toEqual([
      'dashboards:bluelight',
      'rules:operations',
      'rules:standards',
    ]);
  });

  it('would clash if the provider asked for a folder uid (the defect of issue 19)', () => {
    const withUid = {
      providers: providerFile.providers.map((one: object) => ({ ...one, folderUid: 'bluelight' })),
    };
    expect(provisionFolders(rulesFile, withUid).errors).toEqual([
      'dashboard provider bluelight: a folder with the same name already exists (Bluelight)',
    ]);
  });
});

describe('pinned Grafana and plugin', () => {
  it('runs the Grafana release the files are written for, with the plugin preinstalled at its pin', () => {
    expect(compose.services.grafana.image).toBe(`grafana/grafana:${GRAFANA_VERSION}`);
    expect(grafanaEnv.GF_PLUGINS_PREINSTALL_SYNC).toBe(
      `${CLICKHOUSE_PLUGIN_ID}@${CLICKHOUSE_PLUGIN_VERSION}`,
    );
    // Deprecated in Grafana 12; both set would install twice.
    expect(grafanaEnv.GF_INSTALL_PLUGINS).toBeUndefined();
  });

  it('writes every dashboard at the schema version the pinned Grafana knows', () => {
    for (const { file, json } of dashboards)
      expect(json.schemaVersion, file).toBe(GRAFANA_SCHEMA_VERSION);
  });
});

describe("the ClickHouse plugin's query and variable model", () => {
  const PLUGIN_QUERY_TYPES = ['table', 'timeseries', 'logs', 'traces'];
  const queries = [
    ...dashboards.flatMap(({ file, json }) =>
      json.panels.flatMap((panel: { title: string; targets: Record<string, unknown>[] }) =>
        panel.targets.map((target) => ({ where: `${file}: ${panel.title}`, target })),
      ),
    ),
    ...rules.map((rule) => ({ where: rule.uid, target: rule.data[0]?.model ?? {} })),
  ];

  it('gives every panel and rule query a query type of the plugin, its format and the pinned pluginVersion', () => {
    expect(queries.length).toBeGreaterThan(40);
    for (const { where, target } of queries) {
      expect(PLUGIN_QUERY_TYPES, where).toContain(target.queryType);
      // The editor's query type and the result shape agree: time series ⇔ format 0.
      expect(target.format === 0, where).toBe(target.queryType === 'timeseries');
      expect(target.pluginVersion, where).toBe(CLICKHOUSE_PLUGIN_VERSION);
    }
  });

  it("gives every variable query the SQL editor's type and never offers an empty value", () => {
    let variables = 0;
    for (const { file, json } of dashboards) {
      for (const variable of json.templating.list) {
        variables++;
        expect(variable.query.queryType, `${file}: ${variable.name}`).toBe('sql');
        expect(variable.query.pluginVersion, `${file}: ${variable.name}`).toBe(
          CLICKHOUSE_PLUGIN_VERSION,
        );
        // $__conditionalAll reads '' as All: a value '' would make "(none)" filter nothing.
        expect(variable.query.rawSql, `${file}: ${variable.name}`).toMatch(
          /WHERE value != '' ORDER BY value$/,
        );
      }
    }
    expect(variables).toBeGreaterThan(5);
  });
});

describe('alert notifications', () => {
  it('links every rule to its runbook with runbook_url under the configured base URL', () => {
    const doc = readFileSync(path.join(REPO_ROOT, RUNBOOK_DOC), 'utf8');
    const anchors = new Set(
      [...doc.matchAll(/^#{2,4} (.+)$/gm)].map((match) => headingAnchor(match[1] ?? '')),
    );
    for (const rule of rules) {
      const url = rule.annotations.runbook_url ?? '';
      const match = new RegExp(`^\\$\\{${RUNBOOK_BASE_URL_ENV}\\}/grafana\\.md#(.+)$`).exec(url);
      expect(match, `${rule.uid}: ${url}`).not.toBeNull();
      expect(anchors.has(match?.[1] ?? ''), `${rule.uid}: no section #${match?.[1]}`).toBe(true);
    }
    expect(composeDefault(grafanaEnv[RUNBOOK_BASE_URL_ENV] ?? '')).toMatch(/^https?:\/\/[^/]+/);
  });

  it('has e-mail, chat and webhook contact points whose settings come from Grafana’s environment', () => {
    type Receiver = { type: string; settings: Record<string, string> };
    const byName = new Map<string, Receiver[]>(
      contactPoints.contactPoints.map((point: { name: string; receivers: Receiver[] }) => [
        point.name,
        point.receivers,
      ]),
    );
    const duty = byName.get(CONTACT_POINT) ?? [];
    expect(duty.map((receiver) => receiver.type).sort()).toEqual(['email', 'slack', 'webhook']);
    expect(duty.find((r) => r.type === 'email')?.settings.addresses).toBe(
      `$${EMAIL_ADDRESSES_ENV}`,
    );
    expect(duty.find((r) => r.type === 'slack')?.settings.url).toBe(`$${CHAT_WEBHOOK_URL_ENV}`);
    expect(duty.find((r) => r.type === 'webhook')?.settings.url).toBe(`$${WEBHOOK_URL_ENV}`);
    expect((byName.get(PLATFORM_CONTACT_POINT) ?? []).map((r) => r.type).sort()).toEqual([
      'slack',
      'webhook',
    ]);
  });

  it('sets every variable the contact points read, with defaults that never point into Grafana', () => {
    const used = [
      ...new Set(files.get(`${PROVISIONING}/alerting/contact-points.yaml`)?.match(/\$\w+/g) ?? []),
    ].map((name) => name.slice(1));
    expect(used.sort()).toEqual(
      [CHAT_WEBHOOK_URL_ENV, EMAIL_ADDRESSES_ENV, WEBHOOK_URL_ENV].sort(),
    );
    for (const name of used) {
      const fallback = composeDefault(grafanaEnv[name] ?? '');
      // A contact point with an empty setting fails provisioning: Grafana would not start.
      expect(fallback, name).not.toBe('');
      // 127.0.0.1 or localhost inside the container is Grafana itself.
      expect(fallback, name).not.toMatch(/localhost|127\.0\.0\.1|\bgrafana:3000/);
    }
    // E-mail goes out once an SMTP host is given.
    expect(grafanaEnv.GF_SMTP_ENABLED).toBe(`\${BLUELIGHT_SMTP_HOST:+true}`);
    expect(grafanaEnv.GF_SMTP_HOST).toContain('BLUELIGHT_SMTP_HOST');
  });

  it('routes the pipeline to the platform team and each agency’s and station’s alerts apart', () => {
    const [root] = policies.policies;
    const names = contactPoints.contactPoints.map((point: { name: string }) => point.name);
    const receivers = (route: { receiver?: string; routes?: unknown[] }): string[] => [
      ...(route.receiver ? [route.receiver] : []),
      ...((route.routes ?? []) as object[]).flatMap(receivers),
    ];
    for (const receiver of receivers(root)) expect(names).toContain(receiver);
    expect(root.group_by).toEqual(expect.arrayContaining(['agency', 'station']));
    const [pipeline, agencies] = root.routes;
    expect(pipeline.object_matchers).toEqual([['service', '=', 'pipeline']]);
    expect(pipeline.receiver).toBe(PLATFORM_CONTACT_POINT);
    expect(agencies.object_matchers).toEqual([['agency', '=~', '.+']]);
    expect(agencies.receiver).toBe(CONTACT_POINT);
  });
});
