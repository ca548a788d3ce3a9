import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GENERATE_COMMAND, generatedFiles, PROVISIONING, REPO_ROOT } from './output.js';

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

  it('reads the webhook URL from the environment and never inlines it', () => {
    const contactPoints = parse(files.get(`${PROVISIONING}/alerting/contact-points.yaml`) ?? '');
    expect(contactPoints.contactPoints[0].receivers[0].settings.url).toBe(
      '$BLUELIGHT_ALERT_WEBHOOK_URL',
    );
  });

  it('labels every alert rule with severity and service, with a summary and a reduce/threshold', () => {
    const rules = parse(files.get(`${PROVISIONING}/alerting/rules.yaml`) ?? '');
    const all = rules.groups.flatMap((group: { rules: unknown[] }) => group.rules);
    expect(all.length).toBe(7);
    for (const rule of all) {
      expect(Object.keys(rule.labels).sort()).toEqual(['service', 'severity']);
      expect(rule.annotations.summary).toBeTruthy();
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
