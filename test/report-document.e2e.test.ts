import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { landEvents } from '@bluelight/clickhouse-sink/testing/events';
import { launchChromium, repoRoot } from '@bluelight/local-stack';
import { STAFFORDSHIRE_2023_24, simulate } from '@bluelight/simulator';
import {
  type AnnualReport,
  formatReportValue,
  operationsSectionText,
  type ReportCharts,
  reportLines,
} from '@bluelight/standards';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBluelight } from '../services/cli/src/testing/run-cli.js';
import { migratedDatabase, testEndpoints } from './harness/index.js';

/**
 * The annual report as a document: the simulated county's 2023/24 year (a million events; the
 * year before is left empty, as landing it would double the test's time), landed in a real
 * ClickHouse as the sink writes it, then `bluelight report --format html` opened
 * in real headless Chromium and `--format pdf` read back page by page. The document must make no
 * request and log no error, have every chart with its title and text alternative, and show the
 * very numbers of `bluelight report --format json --charts` for the same year; the charts' series
 * must add up to the table's own counts (computed by other queries); the PDF is A4 with the annual
 * table on page 1. Screenshots of the page and of every chart go to .local/test-results/report/.
 */
const YEAR = { from: Date.parse('2023-03-31T23:00:00Z'), to: Date.parse('2024-03-31T23:00:00Z') };
const PERIOD = ['--from', '2023-04-01', '--to', '2024-03-31'];
const AGENCIES = Object.values(STAFFORDSHIRE_2023_24.agencies).sort();
const OUT = path.join(repoRoot, '.local/test-results/report');

const CHART_TITLES = {
  'attendance-by-month': 'Service Attendance Standard met, by month, against the target',
  'attendance-by-station':
    'Service Attendance Standard met, by station ground, ranked (with sample sizes)',
  'attendance-distribution':
    'Distribution of attendance times (call to first pump), with each risk band’s threshold',
  'response-segments':
    'Response segments by month: call handling, turnout and travel (mean minutes)',
  'calls-999-bands': '999 calls answered by answer-time band, by month',
  'availability-by-station': 'Whole-time and on-call appliance availability, by station',
  'demand-7x24':
    'Demand: fire incidents attended by day of week and hour of the call (London time)',
  'categories-year-on-year': 'Fire incidents attended by category, year on year',
};

let db: Awaited<ReturnType<typeof migratedDatabase>>;
let work: string;
type Charted = AnnualReport & { charts: ReportCharts };
let report: Charted;

function bluelight(args: string[], env: Record<string, string> = {}) {
  const endpoints = testEndpoints();
  return runBluelight(work, args, {
    CLICKHOUSE_URL: endpoints.clickhouseUrl,
    CLICKHOUSE_USER: endpoints.clickhouseUser,
    CLICKHOUSE_PASSWORD: endpoints.clickhousePassword,
    CLICKHOUSE_DATABASE: db.database,
    ...env,
  });
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'report-document-'));
  mkdirSync(OUT, { recursive: true });
  db = await migratedDatabase('report_document');
  // The simulated year landed as the sink writes it (no Kafka: the subject is the document), in
  // batches of the size the sink inserts.
  let batch: object[] = [];
  for (const { emissions } of simulate({
    profile: STAFFORDSHIRE_2023_24,
    seed: 1,
    fromMs: YEAR.from,
    toMs: YEAR.to,
  })) {
    for (const emission of emissions) batch.push(emission.event);
    if (batch.length >= 100_000) {
      await landEvents(db.client, batch);
      batch = [];
    }
  }
  await landEvents(db.client, batch);
  const json = path.join(work, 'report.json');
  const run = await bluelight([
    'report',
    ...PERIOD,
    '--agency',
    AGENCIES.join(','),
    '--compare-previous',
    '--format',
    'json',
    '--charts',
    '--out',
    json,
  ]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  report = JSON.parse(readFileSync(json, 'utf8'));
}, 900_000);
afterAll(async () => {
  await db?.drop();
});

const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/**
 * Figures as two runs of the same report agree on them: counts exactly, other numbers to 12
 * significant digits — ClickHouse sums a mean's values over several threads, so two runs' means
 * may differ in the last bits of a double.
 */
const figuresOf = <T>(value: T): T =>
  JSON.parse(
    JSON.stringify(value, (_key, item) =>
      typeof item === 'number' && !Number.isInteger(item) ? Number(item.toPrecision(12)) : item,
    ),
  );

describe('the annual report document (real ClickHouse, real Chromium)', () => {
  it('has series that add up to the table’s own counts', () => {
    const { charts, current } = report;
    // 12 London months, each with the standard's own figure (attended within / measured).
    expect(charts.attendanceByMonth.rows.map((row) => row.month)).toEqual([
      ...['04', '05', '06', '07', '08', '09', '10', '11', '12'].map((m) => `2023-${m}`),
      ...['01', '02', '03'].map((m) => `2024-${m}`),
    ]);
    expect(sum(charts.attendanceByMonth.rows.map((row) => row.n))).toBe(
      current.attendanceStandard.n,
    );
    expect(sum(charts.attendanceByMonth.rows.map((row) => row.met))).toBe(
      current.attendanceStandard.met,
    );
    for (const row of charts.attendanceByMonth.rows) expect(row.share).toBe(row.met / row.n);
    expect(sum(charts.attendanceByStation.rows.map((row) => row.n))).toBe(
      current.attendanceStandard.n,
    );
    const shares = charts.attendanceByStation.rows.map((row) => row.share ?? -1);
    expect(shares).toEqual([...shares].sort((a, b) => b - a));
    // Each risk band's minutes hold every measured incident; those before its threshold met it.
    const bands = charts.attendanceDistribution.bands;
    expect(bands.map((band) => [band.riskBand, band.thresholdSeconds])).toEqual([
      ['high', 480],
      ['medium', 600],
      ['low', 1080],
    ]);
    expect(sum(bands.map((band) => band.n))).toBe(current.attendanceStandard.n);
    for (const band of bands) {
      expect(sum(band.counts)).toBe(band.n);
      // Whole minutes below the threshold (all three are whole minutes) are within it; the
      // threshold's own minute holds those at exactly the threshold too (met), so it bounds it.
      const minute = (band.thresholdSeconds as number) / 60;
      expect(band.met).toBeGreaterThanOrEqual(sum(band.counts.slice(0, minute)));
      expect(band.met).toBeLessThanOrEqual(sum(band.counts.slice(0, minute + 1)));
    }
    expect(sum(bands.map((band) => band.met))).toBe(current.attendanceStandard.met);
    // 999 answer bands by month add up to the year's.
    const months999 = charts.calls999ByMonth.rows;
    expect(months999).toHaveLength(12);
    expect([0, 1, 2].map((i) => sum(months999.map((row) => row.bands[i] ?? 0)))).toEqual(
      current.calls999.bands,
    );
    expect(sum(months999.map((row) => row.answered))).toBe(current.calls999.answered);
    // Availability by station: the stations' hours are the year's appliance hours.
    expect(sum(charts.wholetimeByStation.rows.map((row) => row.hours))).toBeCloseTo(
      current.wholetimeAvailability.hours,
      6,
    );
    expect(sum(charts.onCallByStation.rows.map((row) => row.hours))).toBeCloseTo(
      current.onCallAvailability.hours,
      6,
    );
    // 7 × 24 hours of demand, adding up to the fire incidents attended.
    expect(charts.demandByHourOfWeek.rows).toHaveLength(168);
    expect(sum(charts.demandByHourOfWeek.rows.map((row) => row.incidents))).toBe(
      current.fireIncidents.total,
    );
    expect(charts.asOf.newestEventAt).toMatch(/^2024-03-31T2\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('renders as a self-contained page whose figures are the report JSON’s', async () => {
    const file = path.join(OUT, 'annual-report-2023-24.html');
    const run = await bluelight([
      'report',
      ...PERIOD,
      '--agency',
      AGENCIES.join(','),
      '--format',
      'html',
      '--out',
      file,
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const html = readFileSync(file, 'utf8');
    // Nothing fetched: no script, stylesheet, image or font; url() only of the SVGs' own gradients.
    expect(html).not.toMatch(/<script|<link|<img|@import|url\((?!#)/i);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warn')
          problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error}`));
      await page.setRequestInterception(true);
      page.on('request', (request) => {
        if (request.url() === pathToFileURL(file).href) void request.continue();
        else {
          problems.push(`request: ${request.url()}`);
          void request.abort();
        }
      });
      page.on('requestfailed', (request) => problems.push(`failed: ${request.url()}`));
      await page.setViewport({ width: 900, height: 1200 });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

      // The table: each line's current, previous and target cells hold the JSON's numbers.
      const cells = await page.$$eval('#annual-table tbody tr', (rows) =>
        rows.map((row) => ({
          key: row.getAttribute('data-key'),
          text: [...row.querySelectorAll('td.num')].map((td) => td.textContent),
          values: [...row.querySelectorAll('td.num')].map((td) => td.getAttribute('data-value')),
          verdict: row.querySelector('.verdict')?.getAttribute('data-verdict') ?? null,
        })),
      );
      const lines = reportLines(report);
      expect(cells.map((cell) => cell.key)).toEqual(lines.map((line) => line.key));
      for (const [index, line] of lines.entries()) {
        const asNumber = (text: string | null | undefined) =>
          text === '' || text === null || text === undefined ? null : Number(text);
        expect(figuresOf(cells[index]?.values.map(asNumber)), line.key).toEqual(
          figuresOf([line.value, line.previous, line.target]),
        );
        expect(cells[index]?.text, line.key).toEqual([
          formatReportValue(line.unit, line.value),
          formatReportValue(line.unit, line.previous),
          line.target === null ? '' : formatReportValue(line.unit, line.target),
        ]);
        const expected =
          line.target === null
            ? null
            : line.value === null
              ? 'no figure'
              : line.value >= line.target
                ? 'met'
                : 'not met';
        expect(cells[index]?.verdict, line.key).toBe(expected);
      }
      // The simulated county meets the attendance standard (80.9% ≥ 80%) and misses 90% for 999.
      expect(cells.find((cell) => cell.key === 'attendance_standard_met')?.verdict).toBe('met');
      expect(cells.find((cell) => cell.key === 'calls_999_within_10s')?.verdict).toBe('not met');

      // Every chart, in order, with its title, an SVG image labelled and described by it, and the
      // series it draws equal to the JSON's.
      const shown = await page.$$eval('figure.chart', (all) =>
        all.map((figure) => {
          const svg = figure.querySelector('svg');
          return {
            id: figure.getAttribute('data-chart'),
            heading: figure.querySelector('figcaption h3')?.textContent,
            role: svg?.getAttribute('role'),
            label: svg?.getAttribute('aria-label'),
            title: svg?.querySelector(':scope > title')?.textContent,
            desc: svg?.querySelector(':scope > desc')?.textContent ?? '',
            width: svg?.getBoundingClientRect().width ?? 0,
            series: JSON.parse(figure.getAttribute('data-series') ?? 'null'),
          };
        }),
      );
      expect(shown.map((figure) => figure.id)).toEqual(Object.keys(CHART_TITLES));
      for (const figure of shown) {
        const title = CHART_TITLES[figure.id as keyof typeof CHART_TITLES];
        expect([figure.heading, figure.label, figure.title, figure.role]).toEqual([
          title,
          title,
          title,
          'img',
        ]);
        expect(figure.desc.length, figure.id ?? '').toBeGreaterThan(40);
        expect(figure.width, figure.id ?? '').toBeGreaterThan(300);
      }
      const series = figuresOf(
        Object.fromEntries(shown.map((figure) => [figure.id, figure.series])),
      );
      const charts = figuresOf(report.charts);
      expect(series['attendance-by-month']).toEqual(charts.attendanceByMonth);
      expect(series['attendance-by-station']).toEqual(charts.attendanceByStation);
      expect(series['attendance-distribution']).toEqual(charts.attendanceDistribution);
      expect(series['response-segments']).toEqual(
        charts.attendanceByMonth.rows.map((row) => ({ month: row.month, segments: row.segments })),
      );
      expect(series['calls-999-bands']).toEqual(charts.calls999ByMonth);
      expect(series['availability-by-station']).toEqual({
        wholetime: charts.wholetimeByStation,
        onCall: charts.onCallByStation,
      });
      expect(series['demand-7x24']).toEqual(charts.demandByHourOfWeek);
      expect(series['categories-year-on-year']).toEqual(
        [report.current, report.previous].map((figures) => ({
          period: figures?.period,
          fireIncidents: figures?.fireIncidents,
        })),
      );
      // The pictures draw those series: a bar per month, per station, per month and band.
      const marks = (id: string, mark: string) =>
        page.$$eval(
          `figure[data-chart="${id}"] g.mark-${mark}.role-mark path`,
          (paths) => paths.length,
        );
      expect(await marks('attendance-by-month', 'rect')).toBe(12);
      expect(await marks('attendance-by-station', 'rect')).toBe(
        charts.attendanceByStation.rows.length,
      );
      expect(await marks('calls-999-bands', 'rect')).toBe(12 * 3);
      expect(await marks('demand-7x24', 'rect')).toBe(168);
      // The text alternatives say the numbers too, e.g. each month's share and sample.
      const [april] = charts.attendanceByMonth.rows;
      expect(shown[0]?.desc).toContain(
        `Apr 2023 ${((april?.share ?? 0) * 100).toFixed(1)}% of ${april?.n}`,
      );

      // Appendices: exclusions by primary reason add up, data quality and definitions.
      const exclusions = await page.$$eval('table.exclusions', (tables) =>
        tables.map((table) => ({
          figure: table.getAttribute('data-figure'),
          primary: Object.fromEntries(
            [...table.querySelectorAll('tr[data-reason]')].map((row) => [
              row.getAttribute('data-reason'),
              Number(row.querySelector('[data-column="primary"]')?.textContent?.replace(/,/g, '')),
            ]),
          ),
          also: Object.fromEntries(
            [...table.querySelectorAll('tr[data-reason]')].map((row) => [
              row.getAttribute('data-reason'),
              Number(row.querySelector('[data-column="also"]')?.textContent?.replace(/,/g, '')),
            ]),
          ),
        })),
      );
      const c = report.current;
      expect(exclusions).toEqual(
        [c.attendanceStandard, c.averageFireAttendance, c.policeEmergency].map((figure) => ({
          figure: figure.standard,
          primary: figure.excludedByPrimaryReason,
          also: figure.excludedAlsoMatched,
        })),
      );
      const quality = await page.$$eval('table.quality tbody tr', (rows) =>
        rows.map((row) =>
          Object.fromEntries(
            [...row.querySelectorAll('td')].map((td) => [
              td.getAttribute('data-column'),
              Number(td.textContent?.replace(/,/g, '')),
            ]),
          ),
        ),
      );
      expect(quality).toEqual(
        [c.attendanceStandard, c.averageFireAttendance, c.policeEmergency].map((figure) => ({
          inScope:
            figure.n +
            ((figure.excluded as Record<string, number>).total ?? 0) +
            figure.notMeasured,
          n: figure.n,
          excluded: (figure.excluded as Record<string, number>).total ?? 0,
          notMeasured: figure.notMeasured,
          cancelled: figure.cancelled,
          withoutExclusionsN: figure.withoutExclusions.n,
        })),
      );
      const definitions = await page.$$eval('table.definitions tbody tr', (rows) =>
        rows.map(
          (row) => `${row.getAttribute('data-standard')} v${row.getAttribute('data-version')}`,
        ),
      );
      expect(definitions.sort()).toEqual(
        [
          'appliance-availability-on-call v1',
          'appliance-availability-wholetime v1',
          'calls-101-triage v1',
          'calls-999-answer v1',
          'falls-response v1',
          'falls-response-outcome v1',
          'fire-attendance-standard v1',
          'fire-average-attendance v1',
          'police-emergency-attendance v1',
        ].sort(),
      );
      const fireDefinition = await page.$eval(
        'table.definitions tr[data-standard="fire-attendance-standard"]',
        (row) => [...row.querySelectorAll('td')].map((td) => td.textContent),
      );
      expect(fireDefinition.slice(1, 6)).toEqual([
        'call_received → first_arrival',
        'share_within',
        'high 8 min, medium 10 min, low 18 min',
        'inclusive',
        '80.0%',
      ]);
      expect(await page.$eval('[data-meta="as-of"]', (dd) => dd.textContent)).toContain(
        `newest event ${report.charts.asOf.newestEventAt}, ingested ${report.charts.asOf.ingestedAt}`,
      );
      expect(await page.$eval('[data-meta="generated"]', (dd) => dd.textContent)).toMatch(
        /by Bluelight \d+\.\d+\.\d+$/,
      );

      // The "Appliances and cover" section, as the table output writes it, from the same JSON.
      expect(await page.$eval('#operations pre', (pre) => pre.textContent)).toBe(
        operationsSectionText(report.operations).slice(2).join('\n'),
      );
      await page.screenshot({ path: path.join(OUT, 'report.png'), fullPage: true });
      for (const id of Object.keys(CHART_TITLES)) {
        const element = await page.$(`figure[data-chart="${id}"]`);
        await element?.screenshot({ path: path.join(OUT, `${id}.png`) });
      }
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('prints as an A4 PDF with the annual table on page 1', async () => {
    const file = path.join(OUT, 'annual-report-2023-24.pdf');
    const run = await bluelight([
      'report',
      ...PERIOD,
      '--agency',
      AGENCIES.join(','),
      '--format',
      'pdf',
      '--out',
      file,
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(`report: ${file}\n`);
    const { getDocument } = await import('pdfjs-dist/legacy/build/pdf.mjs');
    const pdf = await getDocument({ data: new Uint8Array(readFileSync(file)) }).promise;
    expect(pdf.numPages).toBeGreaterThanOrEqual(5);
    const textOf = async (number: number) => {
      const content = await (await pdf.getPage(number)).getTextContent();
      return content.items.map((item) => ('str' in item ? item.str : '')).join(' ');
    };
    for (let number = 1; number <= pdf.numPages; number++) {
      // A4: 210 × 297 mm = 595.28 × 841.89 pt.
      const [x0, y0, x1, y1] = (await pdf.getPage(number)).view as number[];
      expect([Math.round((x1 ?? 0) - (x0 ?? 0)), Math.round((y1 ?? 0) - (y0 ?? 0))]).toEqual([
        595, 842,
      ]);
    }
    const first = (await textOf(1)).replace(/\s+/g, ' ');
    expect(first).toContain('Annual performance report 2023-04-01 – 2024-03-31');
    // Every line of the table, with its figure for the year, is on page 1.
    for (const line of reportLines(report)) {
      expect(first, line.key).toContain(line.label.trim());
      expect(first, line.key).toContain(formatReportValue(line.unit, line.value));
    }
    // The charts start on a page of their own.
    expect(first).not.toContain(CHART_TITLES['attendance-by-month']);
    expect((await textOf(2)).replace(/\s+/g, ' ')).toContain(CHART_TITLES['attendance-by-month']);
    await pdf.cleanup();
  });

  it('stops with exit 8 and says what to install when Chromium cannot run', async () => {
    const broken = path.join(work, 'chromium');
    writeFileSync(broken, '');
    chmodSync(broken, 0o644);
    const run = await bluelight(
      ['report', ...PERIOD, '--agency', AGENCIES.join(','), '--format', 'pdf'],
      { BLUELIGHT_CHROMIUM: broken },
    );
    expect(run.code).toBe(8);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      `bluelight: --format pdf needs headless Chromium: BLUELIGHT_CHROMIUM is ${broken}, which is not an executable file; install Debian's chromium (\`apt-get install chromium\`) or set BLUELIGHT_CHROMIUM to a Chromium or Chrome executable, then run \`bluelight stack prepare --browser\`.\n`,
    );
  });
});
