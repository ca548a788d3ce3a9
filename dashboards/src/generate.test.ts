import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RUNBOOK_BASE_URL_ENV } from './alerts.js';
import { GENERATE_COMMAND, generatedFiles, PROVISIONING, REPO_ROOT } from './output.js';
import { applyConditionalAll } from './testing/grafana-emulator.js';

const files = generatedFiles();

describe('generated Grafana provisioning', () => {
  it('is committed and up to date', () => {
    const stale = [...files]
      .filter(([file, content]) => {
        const target = path.join(REPO_ROOT, file);
        return !existsSync(target) || readFileSync(target, 'utf8') !== content;
      })
      .map(([file]) => file);
    expect(stale, `out of date — run: ${GENERATE_COMMAND}`).toEqual([]);
  });

  it('has no dashboard JSON the generator no longer writes', () => {
    const dir = path.join(REPO_ROOT, PROVISIONING, 'dashboards/json');
    const extra = readdirSync(dir)
      .map((name) => `${PROVISIONING}/dashboards/json/${name}`)
      .filter((file) => !files.has(file));
    expect(extra, `remove them, or run: ${GENERATE_COMMAND}`).toEqual([]);
  });

  it('gives every dashboard a unique uid, London time and ClickHouse queries only', () => {
    const uids = new Set<string>();
    for (const [file, content] of files) {
      if (!file.endsWith('.json')) continue;
      const dashboard = JSON.parse(content);
      expect(dashboard.timezone, file).toBe('Europe/London');
      expect(uids.has(dashboard.uid), file).toBe(false);
      uids.add(dashboard.uid);
      for (const panel of dashboard.panels) {
        expect(panel.targets?.length, `${file}: ${panel.title}`).toBeGreaterThan(0);
        for (const target of panel.targets) {
          expect(target.datasource).toEqual({
            type: 'grafana-clickhouse-datasource',
            uid: 'bluelight-clickhouse',
          });
          expect(target.editorType).toBe('sql');
          expect([0, 1]).toContain(target.format);
          // Every builder placeholder was rendered.
          expect(target.rawSql, panel.title).not.toMatch(/(?<!\$)\{\w+:[A-Za-z0-9(), ]+\}/);
        }
      }
    }
  });

  it('writes every $__conditionalAll so the plugin can expand it (two arguments, a $variable)', () => {
    let calls = 0;
    for (const [file, content] of files) {
      if (!file.endsWith('.json')) continue;
      const dashboard = JSON.parse(content);
      const names: string[] = (dashboard.templating.list ?? []).map(
        (v: { name: string }) => v.name,
      );
      for (const panel of dashboard.panels) {
        for (const target of panel.targets) {
          calls += (target.rawSql.match(/\$__conditionalAll\(/g) ?? []).length;
          const context = { from: new Date(0), to: new Date(0) };
          // At All every call becomes 1=1; a call the plugin cannot parse would be left.
          expect(applyConditionalAll(target.rawSql, { ...context, all: names })).not.toContain(
            '$__conditionalAll',
          );
        }
      }
    }
    expect(calls).toBeGreaterThan(0);
  });

  it('gives every dashboard an agency variable (multi-value, from the data) and filters every read of agency rows by it', () => {
    // Tables whose rows belong to an agency; dead_letters are the pipeline's (a refused message
    // may carry no readable agency).
    const AGENCY_TABLES =
      /\bFROM (incident_facts|incident_fact_revisions|call_facts|call_fact_revisions|resource_changes|resource_registry|fact_anchor_exceptions|calls_raw|incidents_raw|resources_raw)\b/g;
    const AGENCY_FILTER =
      /\$__conditionalAll\(agency IN [[(]\$\{agency:singlequote\}[\])], \$agency\)/g;
    let reads = 0;
    for (const [file, content] of files) {
      if (!file.endsWith('.json')) continue;
      const dashboard = JSON.parse(content);
      const [first] = dashboard.templating.list;
      expect(first, file).toMatchObject({
        name: 'agency',
        type: 'query',
        multi: true,
        includeAll: true,
      });
      // Every entity of every family, under its agency.
      expect(first.query.rawSql, file).toContain('FROM fact_entities');
      for (const panel of dashboard.panels) {
        for (const target of panel.targets) {
          const sql: string = target.rawSql;
          const tables = sql.match(AGENCY_TABLES)?.length ?? 0;
          const filters = sql.match(AGENCY_FILTER)?.length ?? 0;
          // One filter per read: each version part of a standard's query, each raw table, …
          expect(filters, `${file}: ${panel.title}`).toBe(tables);
          if (tables === 0) expect(sql, `${file}: ${panel.title}`).toContain('FROM dead_letters');
          reads += tables;
        }
      }
    }
    expect(reads).toBeGreaterThan(40);
  });

  it('groups notifications by agency, so one never mixes two services’ alerts', () => {
    const policies = parse(files.get(`${PROVISIONING}/alerting/policies.yaml`) ?? '');
    expect(policies.policies[0].group_by).toContain('agency');
  });

  it('reads the webhook URL from the environment and never inlines it', () => {
    const contactPoints = parse(files.get(`${PROVISIONING}/alerting/contact-points.yaml`) ?? '');
    const webhooks = contactPoints.contactPoints
      .flatMap(
        (point: { receivers: { type: string; settings: { url: string } }[] }) => point.receivers,
      )
      .filter((receiver: { type: string }) => receiver.type === 'webhook');
    expect(webhooks.length).toBeGreaterThan(0);
    for (const webhook of webhooks)
      expect(webhook.settings.url).toBe('$BLUELIGHT_ALERT_WEBHOOK_URL');
  });

  it('labels every alert rule with severity and service, with a summary and a reduce/threshold', () => {
    const rules = parse(files.get(`${PROVISIONING}/alerting/rules.yaml`) ?? '');
    const all = rules.groups.flatMap((group: { rules: unknown[] }) => group.rules);
    expect(all.length).toBe(9);
    for (const rule of all) {
      expect(Object.keys(rule.labels).sort()).toEqual(['service', 'severity']);
      expect(Object.keys(rule.annotations).sort()).toEqual([
        'description',
        'runbook_url',
        'summary',
      ]);
      // Grafana expands $VAR in provisioned annotations: templates use .Labels, never $labels;
      // the one variable is the runbook base URL (grafana-model.test.ts checks the link).
      const { runbook_url, ...text } = rule.annotations;
      expect(JSON.stringify(text), rule.uid).not.toContain('$');
      expect(
        String(runbook_url).replace(`\${${RUNBOOK_BASE_URL_ENV}}`, ''),
        rule.uid,
      ).not.toContain('$');
      expect(rule.for).toMatch(/^\d+[smh]$/);
      const [query, reduce, threshold] = rule.data;
      expect(query.datasourceUid).toBe('bluelight-clickhouse');
      expect(reduce.model.type).toBe('reduce');
      expect(threshold.model.type).toBe('threshold');
      expect(rule.condition).toBe(threshold.refId);
      // Alert rules run in the backend: no dashboard variables.
      expect(query.model.rawSql).not.toMatch(/\$\{|\[\[/);
    }
  });
});
