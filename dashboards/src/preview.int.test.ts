/**
 * The dashboard previews on a small known dataset (Staffordshire's fixtures, real ClickHouse),
 * opened in real headless Chromium: no console errors, no request but the page itself, every
 * panel with its title, the stat numbers equal to those computed by hand from the fixtures, and
 * a screenshot of each page under .local/test-results/previews for review.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { launchChromium } from '@bluelight/local-stack';
import { migratedDatabase } from '@bluelight/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './output.js';
import { writePreviews } from './preview.js';
import { OUR_DATA, PLATFORM_DEAD_LETTERS, T1 } from './testing/fixtures.js';
import { provisionedDashboards } from './testing/grafana-run.js';

type Database = Awaited<ReturnType<typeof migratedDatabase>>;
let db: Database;
const OUT = path.join(REPO_ROOT, '.local/test-results/previews');

beforeAll(async () => {
  db = await migratedDatabase('previews');
  await landEvents(db.client, OUR_DATA.events);
  for (const table of Object.keys(OUR_DATA.raw) as (keyof typeof OUR_DATA.raw)[]) {
    const values = OUR_DATA.raw[table];
    if (values.length > 0) await db.client.insert({ table, format: 'JSONEachRow', values });
  }
  await db.client.insert({
    table: 'dead_letters',
    format: 'JSONEachRow',
    values: PLATFORM_DEAD_LETTERS(),
  });
});
afterAll(async () => {
  await db?.drop();
});

describe('bluelight dashboards preview (real ClickHouse, real Chromium)', () => {
  it('renders every dashboard as a self-contained page with every panel and the right numbers', async () => {
    mkdirSync(OUT, { recursive: true });
    const lines: string[] = [];
    const files = await writePreviews(
      db.client,
      OUT,
      // Each dashboard's own range up to T1 (the control room's: the last 24 h).
      { to: T1 },
      (line) => lines.push(line),
    );
    const dashboards = provisionedDashboards();
    expect(files).toHaveLength(dashboards.length);
    expect(lines).toHaveLength(dashboards.length);
    const browser = await launchChromium();
    try {
      for (const [index, dashboard] of dashboards.entries()) {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(`console: ${message.text()}`);
        });
        page.on('pageerror', (error) => problems.push(`page error: ${error}`));
        await page.setRequestInterception(true);
        page.on('request', (request) => {
          const url = request.url();
          if (url.startsWith('file:') || url.startsWith('data:')) void request.continue();
          else {
            problems.push(`request: ${url}`);
            void request.abort();
          }
        });
        page.on('requestfailed', (request) => problems.push(`failed: ${request.url()}`));
        await page.setViewport({ width: 1220, height: 900 });
        await page.goto(pathToFileURL(files[index] ?? '').href, { waitUntil: 'load' });
        const titles = await page.$$eval('section.panel', (sections) =>
          sections.map((section) => section.querySelector('h2')?.textContent ?? ''),
        );
        expect(titles, dashboard.title).toEqual(dashboard.panels.map((panel) => panel.title));
        const failed = await page.$$eval('.panel .error', (errors) =>
          errors.map((e) => e.textContent),
        );
        expect(failed, dashboard.title).toEqual([]);
        // Every chart panel drew an SVG.
        const charts = await page.$$eval(
          'section.panel-timeseries, section.panel-barchart, section.panel-state-timeline',
          (sections) =>
            sections.map((s) => [s.getAttribute('data-title'), !!s.querySelector('svg, .empty')]),
        );
        for (const [title, drawn] of charts) expect(drawn, String(title)).toBe(true);
        await page.screenshot({
          path: path.join(OUT, `${dashboard.uid}.png`) as `${string}.png`,
          fullPage: true,
        });
        if (dashboard.uid === 'bluelight-control-room') {
          const stat = (title: string) =>
            page.$$eval(`section[data-title="${title}"] .stat`, (stats) =>
              stats.map((s) => [
                s.getAttribute('data-title'),
                Number(s.getAttribute('data-value')),
              ]),
            );
          // At T1: 101 — 2 waiting, 999 — 5 waiting (hand-counted from the fixtures: 7 in all).
          expect(await stat('Calls waiting now')).toEqual([
            ['101', 2],
            ['999', 5],
          ]);
          // 6 of the last hour's 8 answered 999 calls within 10 s.
          expect(await stat('999 answered within 10 s — last hour')).toEqual([['value', 6 / 8]]);
          // Newest rows 20 s, 3 h − 2 s and 119 s before T1: one value per family.
          expect(await stat('Ingestion delay')).toEqual([
            ['calls', 20],
            ['incidents', 3 * 3600 - 2],
            ['resources', 119],
          ]);
          // Thresholds green < 3 ≤ orange < 10 ≤ red: 101's 2 waiting green, 999's 5 orange.
          expect(
            await page.$$eval('section[data-title="Calls waiting now"] .stat', (stats) =>
              stats.map((s) => s.getAttribute('data-colour')),
            ),
          ).toEqual(['#73bf69', '#ff9830']);
          // One value in auto text mode: the number alone, no name (75% is below 90%: red).
          const answered = 'section[data-title="999 answered within 10 s — last hour"] .stat';
          expect(await page.$$eval(`${answered} .stat-title`, (names) => names.length)).toBe(0);
          expect(await page.$eval(answered, (s) => s.getAttribute('data-colour'))).toBe('#f2495c');
          // A band per appliance, its states in order (fixtures: HANLEY-W1 on since 1 April,
          // LEEK-P1 on from 06:00, LEEK-P2 off from 08:00, HANLEY-P3 off 11:00 then on 11:50).
          const bands = await page.$$eval(
            'section[data-title="Appliance status"] .state-row',
            (rows) =>
              rows.map((row) => [
                row.getAttribute('data-series'),
                [...row.querySelectorAll('rect')].map((rect) => rect.getAttribute('data-state')),
              ]),
          );
          expect(bands.sort()).toEqual([
            ['HANLEY-P3 (on_call)', ['off the run', 'on the run']],
            ['HANLEY-W1 (wholetime)', ['on the run']],
            ['LEEK-P1 (on_call)', ['on the run']],
            ['LEEK-P2 (on_call)', ['off the run']],
          ]);
        }
        if (dashboard.uid === 'bluelight-appliances-cover') {
          const free = await page.$$eval(
            'section[data-title="Appliances available now"] .stat',
            (stats) =>
              stats.map((s) => [
                s.getAttribute('data-title'),
                Number(s.getAttribute('data-value')),
              ]),
          );
          // At T1 (fixtures): HANLEY-P3 free again since 11:50, HANLEY-W1 free, LEEK-P1 free
          // and LEEK-P2 off the run (one free of LEEK's two on-call pumps).
          expect(free).toEqual([
            ['HANLEY · on_call', 1],
            ['HANLEY · wholetime', 1],
            ['LEEK · on_call', 1],
          ]);
          // Every station has one free: no station ground without one (no row, "No data").
          expect(
            await page.$$eval(
              'section[data-title="Station grounds without an available appliance"] .stat',
              (stats) => stats.map((s) => s.getAttribute('data-title')),
            ),
          ).toEqual(['No data']);
        }
        expect(problems, dashboard.title).toEqual([]);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});
