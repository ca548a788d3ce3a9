/**
 * The annual report as one printable, self-contained HTML document (A4 print CSS, no script, no
 * network request): the annual table beside the previous year and each target, the charts as
 * SVG drawn here from the report JSON's `charts` (Vega-Lite, rendered in Node), and appendices of
 * exclusions, data quality and every definition used. Every number on the page comes from the
 * report JSON it is given; each chart carries the numbers it draws in `data-series` (and a
 * `<desc>` in words), so a reader or a test can check them against that JSON.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AnnualReport,
  coverageNotes,
  EXCLUSION_REASONS,
  formatReportValue,
  operationsSectionText,
  type ReportCharts,
  type ReportFigures,
  reportLines,
  type StandardDefinition,
} from '@bluelight/standards';
import { accessibleSvg, escapeHtml as html, svgOf, type TopLevelSpec } from './charts.js';

/** The product's version (the CLI package's, as `bluelight` is released). */
export function productVersion(): string {
  const file = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '../../services/cli/package.json',
  );
  return String((JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version);
}

export interface ReportDocumentOptions {
  /** The shipped (and user) standards the report was computed with: their definitions are listed. */
  standards: StandardDefinition[];
  /** When the document was made (UTC). */
  generatedAt: Date;
  productVersion: string;
}

/** An annual report with its charts' series (annualReport with `charts: true`). */
export type ChartedReport = AnnualReport & { charts: ReportCharts };

/** Width of a chart's plot on A4 portrait with 15 mm margins (180 mm at 96 px/in ≈ 680 px). */
const CHART_WIDTH = 600;

const COLOURS = {
  bar: '#1f5f99',
  target: '#c0392b',
  previous: '#9bb7d4',
  bands: ['#1a9850', '#fdae61', '#d73027'],
  segments: ['#4c78a8', '#f58518', '#54a24b'],
  riskBands: { high: '#d73027', medium: '#fc8d59', low: '#4575b4' } as Record<string, string>,
};

const percent = (share: number | null | undefined) =>
  share === null || share === undefined ? 'n/a' : `${(share * 100).toFixed(1)}%`;
const minutesOf = (seconds: number | null | undefined) =>
  seconds === null || seconds === undefined ? 'n/a' : `${(seconds / 60).toFixed(2)} min`;
const count = (value: number) => formatReportValue('count', value);

const MONTHS = [
  'Jan',
  'Feb',
  'Mar',
  'Apr',
  'May',
  'Jun',
  'Jul',
  'Aug',
  'Sep',
  'Oct',
  'Nov',
  'Dec',
] as const;
/** "2023-04" as "Apr 2023". */
const monthLabel = (month: string) =>
  `${MONTHS[Number(month.slice(5, 7)) - 1] ?? month} ${month.slice(0, 4)}`;
const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

const AXIS = { labelFontSize: 10, titleFontSize: 11, gridColor: '#e5e5e5' };
const BASE = {
  background: 'white',
  config: { view: { stroke: null }, axis: AXIS, legend: { labelFontSize: 10, titleFontSize: 10 } },
} as const;

interface Chart {
  id: string;
  title: string;
  /** The text alternative: what the chart shows, with its numbers, in words. */
  description: string;
  /** The numbers drawn, as the report JSON has them (for checking). */
  series: unknown;
  spec: TopLevelSpec;
  /** Drawn across the page's width (else two may share a row on screen; one per row in print). */
  note?: string;
}

/**
 * Bars of a share (0–100%) per category, with the target as a dashed rule across them: columns
 * (`vertical`, categories along x) or a ranked list (categories down y).
 */
function shareBarsWithTarget(
  values: { label: string; share: number | null }[],
  target: number | null,
  vertical: boolean,
): TopLevelSpec {
  const [category, value] = vertical ? (['x', 'y'] as const) : (['y', 'x'] as const);
  return {
    ...BASE,
    width: vertical ? CHART_WIDTH : CHART_WIDTH - 120,
    height: vertical ? 220 : { step: 12 },
    layer: [
      {
        data: { values },
        mark: { type: 'bar', color: COLOURS.bar },
        encoding: {
          [category]: {
            field: 'label',
            type: 'ordinal',
            sort: null,
            title: null,
            axis: vertical ? { labelAngle: -40 } : { labelLimit: 240 },
          },
          [value]: {
            field: 'share',
            type: 'quantitative',
            title: 'met',
            axis: { format: '.0%' },
            scale: { domain: [0, 1] },
          },
        },
      },
      ...(target === null
        ? []
        : [
            {
              data: { values: [{ target }] },
              mark: {
                type: 'rule' as const,
                color: COLOURS.target,
                strokeWidth: 2,
                strokeDash: [6, 3],
              },
              encoding: { [value]: { field: 'target', type: 'quantitative' as const } },
            },
          ]),
    ],
  } as TopLevelSpec;
}

const targetNote = (target: number | null) =>
  target === null ? undefined : `Dashed line: the target, ${percent(target)}.`;

function attendanceByMonth(charts: ReportCharts): Chart {
  const { rows, target } = charts.attendanceByMonth;
  return {
    id: 'attendance-by-month',
    title: 'Service Attendance Standard met, by month, against the target',
    description: `Share of life-risk incidents attended within the standard each month (target ${percent(target)}): ${rows
      .map((row) => `${monthLabel(row.month)} ${percent(row.share)} of ${row.n}`)
      .join('; ')}.`,
    series: charts.attendanceByMonth,
    spec: shareBarsWithTarget(
      rows.map((row) => ({ label: monthLabel(row.month), share: row.share })),
      target,
      true,
    ),
    note: targetNote(target),
  };
}

function attendanceByStation(charts: ReportCharts): Chart {
  const { rows, target } = charts.attendanceByStation;
  return {
    id: 'attendance-by-station',
    title: 'Service Attendance Standard met, by station ground, ranked (with sample sizes)',
    description: `Stations ranked by the share of life-risk incidents attended within the standard (target ${percent(target)}; no share below the minimum sample): ${rows
      .map((row) => `${row.station || '(none)'} ${percent(row.share)} of ${row.n}`)
      .join('; ')}.`,
    series: charts.attendanceByStation,
    spec: shareBarsWithTarget(
      rows.map((row) => ({ label: `${row.station || '(none)'} (n = ${row.n})`, share: row.share })),
      target,
      false,
    ),
    note: targetNote(target),
  };
}

function attendanceDistribution(charts: ReportCharts): Chart {
  const { bands } = charts.attendanceDistribution;
  const last = (bands[0]?.counts.length ?? 1) - 1;
  const values = bands.flatMap((band) =>
    band.counts.map((incidents, minute) => ({
      minute: minute === last ? `${minute}+` : String(minute),
      order: minute,
      band: band.riskBand,
      incidents,
    })),
  );
  const thresholds = bands
    .filter((band) => band.thresholdSeconds !== null)
    .map((band, index) => ({
      minute: String(Math.min(last, Math.floor((band.thresholdSeconds as number) / 60))),
      band: band.riskBand,
      label: `${band.riskBand}: ${(band.thresholdSeconds as number) / 60} min`,
      // Pixels from the top: one line each, so thresholds two minutes apart stay readable.
      labelY: index * 12,
    }));
  const minutes = Array.from({ length: last + 1 }, (_, minute) =>
    minute === last ? `${minute}+` : String(minute),
  );
  const domain = bands.map((band) => band.riskBand);
  const range = domain.map((band) => COLOURS.riskBands[band] ?? '#888');
  return {
    id: 'attendance-distribution',
    title: 'Distribution of attendance times (call to first pump), with each risk band’s threshold',
    description: `Measured incidents of the attendance standard by whole minute of attendance, per risk band: ${bands
      .map(
        (band) =>
          `${band.riskBand} risk ${band.n} incidents, threshold ${minutesOf(band.thresholdSeconds)}, ${band.met} within it`,
      )
      .join('; ')}. The last bar holds ${last} minutes and over.`,
    series: charts.attendanceDistribution,
    spec: {
      ...BASE,
      width: CHART_WIDTH,
      height: 220,
      layer: [
        {
          data: { values },
          mark: { type: 'bar' },
          encoding: {
            x: {
              field: 'minute',
              type: 'ordinal',
              sort: minutes,
              title: 'minutes from call to first pump (whole minutes)',
              axis: { labelAngle: 0 },
            },
            y: { field: 'incidents', type: 'quantitative', title: 'incidents', stack: 'zero' },
            color: {
              field: 'band',
              type: 'nominal',
              title: 'risk band',
              scale: { domain, range },
              legend: { orient: 'top' },
            },
          },
        },
        {
          data: { values: thresholds },
          mark: { type: 'rule', strokeWidth: 2, strokeDash: [5, 3], xOffset: 0 },
          encoding: {
            x: { field: 'minute', type: 'ordinal', sort: minutes, bandPosition: 0 },
            color: { field: 'band', type: 'nominal', scale: { domain, range } },
          },
        },
        {
          data: { values: thresholds },
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 10, baseline: 'top' },
          encoding: {
            x: { field: 'minute', type: 'ordinal', sort: minutes, bandPosition: 0 },
            y: { field: 'labelY', type: 'quantitative', scale: null },
            text: { field: 'label' },
            color: { field: 'band', type: 'nominal', scale: { domain, range } },
          },
        },
      ],
    },
    note: 'Dashed lines: each risk band’s threshold (an incident within it arrived before the line).',
  };
}

function responseSegments(charts: ReportCharts): Chart {
  const names = { call_handling: 'call handling', turnout: 'turnout', travel: 'travel' } as const;
  const { rows } = charts.attendanceByMonth;
  const values = rows.flatMap((row) =>
    (Object.keys(names) as (keyof typeof names)[]).map((segment, order) => ({
      month: monthLabel(row.month),
      segment: names[segment],
      order,
      minutes: row.segments[segment] === null ? null : (row.segments[segment] as number) / 60,
    })),
  );
  return {
    id: 'response-segments',
    title: 'Response segments by month: call handling, turnout and travel (mean minutes)',
    description: `Mean minutes of each response segment of the attendance standard's measured incidents, by month: ${rows
      .map(
        (row) =>
          `${monthLabel(row.month)} call handling ${minutesOf(row.segments.call_handling)}, turnout ${minutesOf(row.segments.turnout)}, travel ${minutesOf(row.segments.travel)}`,
      )
      .join('; ')}.`,
    series: rows.map((row) => ({ month: row.month, segments: row.segments })),
    spec: {
      ...BASE,
      width: CHART_WIDTH,
      height: 220,
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'month', type: 'ordinal', sort: null, title: null, axis: { labelAngle: -40 } },
        y: { field: 'minutes', type: 'quantitative', title: 'mean minutes', stack: 'zero' },
        color: {
          field: 'segment',
          type: 'nominal',
          title: 'segment',
          sort: Object.values(names),
          scale: { domain: Object.values(names), range: COLOURS.segments },
          legend: { orient: 'top' },
        },
        order: { field: 'order', type: 'quantitative' },
      },
    },
  };
}

function calls999ByMonth(charts: ReportCharts): Chart {
  const { rows, bandsSeconds, target } = charts.calls999ByMonth;
  const bandNames = bandsSeconds.map((bound, index) =>
    index === 0 ? `≤ ${bound} s` : `${bandsSeconds[index - 1]}–${bound} s`,
  );
  bandNames.push(`over ${bandsSeconds.at(-1) ?? 0} s`);
  const values = rows.flatMap((row) =>
    row.bands.map((calls, index) => ({
      month: monthLabel(row.month),
      band: bandNames[index] ?? String(index),
      order: index,
      calls,
    })),
  );
  return {
    id: 'calls-999-bands',
    title: '999 calls answered by answer-time band, by month',
    description: `999 calls answered each month in each band (${bandNames.join(', ')}): ${rows
      .map(
        (row) =>
          `${monthLabel(row.month)} ${row.bands.map((calls, index) => `${bandNames[index]} ${calls}`).join(', ')} (${percent(row.withinShare)} within the first)`,
      )
      .join('; ')}.`,
    series: charts.calls999ByMonth,
    spec: {
      ...BASE,
      width: CHART_WIDTH,
      height: 220,
      layer: [
        {
          data: { values },
          mark: { type: 'bar' },
          encoding: {
            x: {
              field: 'month',
              type: 'ordinal',
              sort: null,
              title: null,
              axis: { labelAngle: -40 },
            },
            y: {
              field: 'calls',
              type: 'quantitative',
              title: 'share of calls answered',
              stack: 'normalize',
              axis: { format: '.0%' },
            },
            color: {
              field: 'band',
              type: 'nominal',
              title: 'answered',
              sort: bandNames,
              scale: { domain: bandNames, range: COLOURS.bands },
              legend: { orient: 'top' },
            },
            order: { field: 'order', type: 'quantitative' },
          },
        },
        ...(target === null
          ? []
          : [
              {
                data: { values: [{ target }] },
                mark: {
                  type: 'rule' as const,
                  color: '#111',
                  strokeWidth: 2,
                  strokeDash: [6, 3],
                },
                encoding: { y: { field: 'target', type: 'quantitative' as const } },
              },
            ]),
      ],
    },
    note:
      target === null
        ? undefined
        : `Dashed line: the target share answered within ${bandsSeconds[0] ?? 10} s, ${percent(target)}.`,
  };
}

function availabilityByStation(charts: ReportCharts): Chart {
  const models = [
    ['whole-time', charts.wholetimeByStation],
    ['on-call', charts.onCallByStation],
  ] as const;
  const values = models.flatMap(([model, series]) =>
    series.rows.map((row) => ({ station: `${row.station} (${model})`, model, share: row.share })),
  );
  const targets = models.flatMap(([model, series]) =>
    series.target === null ? [] : [{ model, target: series.target }],
  );
  const domain = ['whole-time', 'on-call'];
  const range = [COLOURS.bar, '#f58518'];
  return {
    id: 'availability-by-station',
    title: 'Whole-time and on-call appliance availability, by station',
    description: models
      .map(
        ([model, series]) =>
          `${model} (target ${percent(series.target)}): ${series.rows.map((row) => `${row.station} ${percent(row.share)}`).join(', ')}`,
      )
      .join('. '),
    series: { wholetime: charts.wholetimeByStation, onCall: charts.onCallByStation },
    spec: {
      ...BASE,
      width: CHART_WIDTH - 140,
      height: { step: 11 },
      layer: [
        {
          data: { values },
          mark: { type: 'bar' },
          encoding: {
            y: {
              field: 'station',
              type: 'nominal',
              title: null,
              sort: null,
              axis: { labelLimit: 240 },
            },
            x: {
              field: 'share',
              type: 'quantitative',
              title: 'share of appliance time on the run',
              axis: { format: '.0%' },
              scale: { domain: [0, 1] },
            },
            color: {
              field: 'model',
              type: 'nominal',
              title: 'crewing',
              scale: { domain, range },
              legend: { orient: 'top' },
            },
          },
        },
        {
          data: { values: targets },
          mark: { type: 'rule', strokeWidth: 2, strokeDash: [6, 3] },
          encoding: {
            x: { field: 'target', type: 'quantitative' },
            color: { field: 'model', type: 'nominal', scale: { domain, range } },
          },
        },
      ],
    },
    note: `Dashed lines: the targets (${targets.map((t) => `${t.model} ${percent(t.target)}`).join(', ')}).`,
  };
}

function demandHeatmap(charts: ReportCharts): Chart {
  const { rows } = charts.demandByHourOfWeek;
  const values = rows.map((row) => ({
    day: DAYS[row.dayOfWeek - 1],
    hour: String(row.hour).padStart(2, '0'),
    incidents: row.incidents,
  }));
  const byDay = DAYS.map((day, index) => ({
    day,
    total: rows
      .filter((row) => row.dayOfWeek === index + 1)
      .reduce((sum, row) => sum + row.incidents, 0),
  }));
  const busiest = [...rows].sort((a, b) => b.incidents - a.incidents)[0];
  return {
    id: 'demand-7x24',
    title: 'Demand: fire incidents attended by day of week and hour of the call (London time)',
    description: `Fire incidents attended in each of the week's 168 hours. By day: ${byDay
      .map((day) => `${day.day} ${day.total}`)
      .join(
        ', ',
      )}.${busiest ? ` Busiest hour: ${DAYS[busiest.dayOfWeek - 1]} ${String(busiest.hour).padStart(2, '0')}:00 with ${busiest.incidents}.` : ''}`,
    series: charts.demandByHourOfWeek,
    spec: {
      ...BASE,
      width: CHART_WIDTH,
      height: 190,
      data: { values },
      encoding: {
        x: { field: 'hour', type: 'ordinal', title: 'hour of the call', axis: { labelAngle: 0 } },
        y: { field: 'day', type: 'ordinal', sort: DAYS, title: null },
      },
      layer: [
        {
          mark: { type: 'rect' },
          encoding: {
            color: {
              field: 'incidents',
              type: 'quantitative',
              title: 'incidents',
              scale: { scheme: 'oranges' },
            },
          },
        },
        {
          mark: { type: 'text', fontSize: 8 },
          encoding: { text: { field: 'incidents', type: 'quantitative' } },
        },
      ],
    },
  };
}

const CATEGORIES: [label: string, pick: (f: ReportFigures) => number][] = [
  ['primary fires', (f) => f.fireIncidents.primaryFires],
  ['secondary fires', (f) => f.fireIncidents.secondaryFires],
  ['chimney fires', (f) => f.fireIncidents.chimneyFires],
  ['special services', (f) => f.fireIncidents.specialServices],
  ['road traffic collisions', (f) => f.fireIncidents.roadTrafficCollisions],
  ['false alarms', (f) => f.fireIncidents.falseAlarms],
];

const periodName = (figures: ReportFigures) => `${figures.period.from} – ${figures.period.to}`;

function categoriesYearOnYear(report: ChartedReport): Chart {
  const periods = [report.current, ...(report.previous ? [report.previous] : [])];
  const values = periods.flatMap((figures) =>
    CATEGORIES.map(([category, pick]) => ({
      category,
      period: periodName(figures),
      incidents: pick(figures),
    })),
  );
  const domain = periods.map(periodName);
  return {
    id: 'categories-year-on-year',
    title: 'Fire incidents attended by category, year on year',
    description: periods
      .map(
        (figures) =>
          `${periodName(figures)}: ${CATEGORIES.map(([category, pick]) => `${category} ${pick(figures)}`).join(', ')}`,
      )
      .join('. '),
    series: periods.map((figures) => ({
      period: figures.period,
      fireIncidents: figures.fireIncidents,
    })),
    spec: {
      ...BASE,
      width: CHART_WIDTH,
      height: 220,
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        x: {
          field: 'category',
          type: 'nominal',
          sort: null,
          title: 'special services exclude road traffic collisions, shown apart',
          axis: { labelAngle: 0, labelLimit: 120 },
        },
        xOffset: { field: 'period', sort: domain },
        y: { field: 'incidents', type: 'quantitative', title: 'incidents' },
        color: {
          field: 'period',
          type: 'nominal',
          title: null,
          sort: domain,
          scale: { domain, range: [COLOURS.bar, COLOURS.previous] },
          legend: { orient: 'top', labelLimit: 300 },
        },
      },
    },
  };
}

async function figureHtml(chart: Chart): Promise<string> {
  const svg = accessibleSvg(await svgOf(chart.spec), chart.title, chart.description);
  return `<figure class="chart" id="${html(chart.id)}" data-chart="${html(chart.id)}" data-series="${html(JSON.stringify(chart.series))}">
<figcaption><h3>${html(chart.title)}</h3></figcaption>
${svg}
${chart.note ? `<p class="note">${html(chart.note)}</p>` : ''}
</figure>`;
}

/** Met / not met against a target (every target here is a share to reach or beat). */
function verdict(value: number | null, target: number | null): string {
  if (target === null) return '';
  if (value === null) return '<span class="verdict none" data-verdict="no figure">no figure</span>';
  return value >= target
    ? '<span class="verdict met" data-verdict="met">met</span>'
    : '<span class="verdict missed" data-verdict="not met">not met</span>';
}

function annualTable(report: ChartedReport): string {
  const lines = reportLines(report);
  const { current, previous } = report;
  const head = `<tr><th scope="col">figure</th><th scope="col" class="num">${html(periodName(current))}</th>${
    previous ? `<th scope="col" class="num">${html(periodName(previous))}</th>` : ''
  }<th scope="col" class="num">target</th><th scope="col">current year</th></tr>`;
  const rows = lines.map((line) => {
    const indented = line.label.startsWith('  ');
    const cell = (column: string, value: number | null) =>
      `<td class="num" data-column="${column}" data-value="${value === null ? '' : value}">${html(formatReportValue(line.unit, value))}</td>`;
    return `<tr data-key="${html(line.key)}" data-unit="${line.unit}"${indented ? ' class="sub"' : ''}><th scope="row">${html(line.label.trim())}</th>${cell('current', line.value)}${
      previous ? cell('previous', line.previous) : ''
    }<td class="num" data-column="target" data-value="${line.target ?? ''}">${line.target === null ? '' : html(formatReportValue(line.unit, line.target))}</td><td>${verdict(line.value, line.target)}</td></tr>`;
  });
  const notes = coverageNotes(report);
  return `<table class="annual" id="annual-table"><caption>The annual figures${
    previous ? ', beside the previous year' : ''
  }, and each target</caption><thead>${head}</thead><tbody>${rows.join('')}</tbody></table>${
    notes.length > 0
      ? `<ul class="notes">${notes.map((note) => `<li>${html(note)}</li>`).join('')}</ul>`
      : ''
  }`;
}

/** The incident figures whose incidents are accounted for (exclusions, not measured, cancelled). */
const ACCOUNTED: [label: string, pick: (f: ReportFigures) => AccountedFigure][] = [
  ['Service Attendance Standard', (f) => f.attendanceStandard],
  ['Average fire attendance', (f) => f.averageFireAttendance],
  ['Police emergency attendance', (f) => f.policeEmergency],
];
type AccountedFigure = Pick<
  ReportFigures['attendanceStandard'],
  | 'standard'
  | 'n'
  | 'notMeasured'
  | 'cancelled'
  | 'excluded'
  | 'excludedByPrimaryReason'
  | 'excludedAlsoMatched'
  | 'withoutExclusions'
>;

const REASON_NAMES: Record<(typeof EXCLUSION_REASONS)[number], string> = {
  late_call: 'late call',
  derelict_property: 'derelict property',
  abandoned_road_vehicle: 'abandoned road vehicle',
  out_of_sequence: 'out-of-sequence times',
  total_over: 'total over the cap',
  total_under: 'total under the floor',
};

function exclusionsAppendix(report: ChartedReport): string {
  const tables = ACCOUNTED.map(([label, pick]) => {
    const figure = pick(report.current);
    const rows = EXCLUSION_REASONS.map(
      (reason) =>
        `<tr data-reason="${reason}"><th scope="row">${html(REASON_NAMES[reason])}</th><td class="num" data-column="primary">${count(figure.excludedByPrimaryReason[reason] ?? 0)}</td><td class="num" data-column="also">${count(figure.excludedAlsoMatched[reason] ?? 0)}</td><td class="num" data-column="matched">${count((figure.excluded as Record<string, number>)[reason] ?? 0)}</td></tr>`,
    ).join('');
    const total = (figure.excluded as Record<string, number>).total ?? 0;
    return `<table class="exclusions" data-figure="${html(figure.standard)}"><caption>${html(label)} (${html(figure.standard)})</caption><thead><tr><th scope="col">reason</th><th scope="col" class="num">primary reason</th><th scope="col" class="num">also matched</th><th scope="col" class="num">matched in all</th></tr></thead><tbody>${rows}<tr class="total"><th scope="row">excluded incidents</th><td class="num" data-column="primary">${count(total)}</td><td></td><td></td></tr></tbody></table>`;
  });
  return `<section class="appendix" id="appendix-exclusions"><h2>Appendix A — Exclusions by reason, ${html(periodName(report.current))}</h2>
<p>Each excluded incident is counted once under its primary reason — the first it matched, in the order listed — so the primary reasons add up to the incidents excluded; “also matched” counts those that matched a reason after an earlier one (primary + also matched = matched in all).</p>
${tables.join('\n')}</section>`;
}

function dataQualityAppendix(report: ChartedReport): string {
  const c = report.current;
  const rows = ACCOUNTED.map(([label, pick]) => {
    const figure = pick(c);
    const excluded = (figure.excluded as Record<string, number>).total ?? 0;
    return `<tr data-figure="${html(figure.standard)}"><th scope="row">${html(label)}</th><td class="num" data-column="inScope">${count(figure.n + excluded + figure.notMeasured)}</td><td class="num" data-column="n">${count(figure.n)}</td><td class="num" data-column="excluded">${count(excluded)}</td><td class="num" data-column="notMeasured">${count(figure.notMeasured)}</td><td class="num" data-column="cancelled">${count(figure.cancelled)}</td><td class="num" data-column="withoutExclusionsN">${count(figure.withoutExclusions.n)}</td></tr>`;
  }).join('');
  const calls = [
    ['999 calls presented', c.calls999.calls, 'calls999.calls'],
    ['999 calls answered', c.calls999.answered, 'calls999.answered'],
    ['999 calls abandoned', c.calls999.abandoned, 'calls999.abandoned'],
    ['101 calls', c.calls101.calls, 'calls101.calls'],
    ['101 calls answered and closed', c.calls101.answered, 'calls101.answered'],
    [
      'fire incidents cancelled before attendance',
      c.fireIncidents.cancelled,
      'fireIncidents.cancelled',
    ],
  ] as const;
  return `<section class="appendix" id="appendix-data-quality"><h2>Appendix B — Data quality, ${html(periodName(c))}</h2>
<p>Every incident in a figure's scope is measured (counted in the figure), excluded (Appendix A), not measured (a clock event missing, e.g. no arrival) or cancelled before attendance (in no other count). “Measured, no exclusions” is the figure's companion over every measured incident, none excluded.</p>
<table class="quality"><thead><tr><th scope="col">figure</th><th scope="col" class="num">in scope</th><th scope="col" class="num">measured</th><th scope="col" class="num">excluded</th><th scope="col" class="num">not measured</th><th scope="col" class="num">cancelled</th><th scope="col" class="num">measured, no exclusions</th></tr></thead><tbody>${rows}</tbody></table>
<table class="quality-counts"><tbody>${calls
    .map(
      ([label, value, key]) =>
        `<tr data-key="${key}"><th scope="row">${html(label)}</th><td class="num" data-value="${value}">${count(value)}</td></tr>`,
    )
    .join('')}</tbody></table></section>`;
}

/** A threshold as people read it: 8 / 10 / 18 min by risk band, 15 / 20 min urban / rural. */
function thresholdText(statistic: unknown): string {
  const s = statistic as { kind: string; threshold_seconds?: unknown };
  const t = s.threshold_seconds;
  if (t === undefined) return '—';
  const m = (seconds: number) => (seconds >= 60 ? `${seconds / 60} min` : `${seconds} s`);
  if (typeof t === 'number') return m(t);
  const byBand = (t as { by_risk_band?: Record<string, number> }).by_risk_band;
  if (byBand)
    return `high ${m(byBand.high ?? 0)}, medium ${m(byBand.medium ?? 0)}, low ${m(byBand.low ?? 0)}`;
  const byArea = (t as { by_area_type?: Record<string, number> }).by_area_type ?? {};
  return `urban ${m(byArea.urban ?? 0)}, rural ${m(byArea.rural ?? 0)}`;
}

function targetText(statistic: unknown): string {
  const s = statistic as { target_share?: number; target_seconds?: number };
  if (s.target_share !== undefined) return percent(s.target_share);
  if (s.target_seconds !== undefined) return minutesOf(s.target_seconds);
  return '—';
}

/** The standards the report used, with the versions in force in either period. */
function definitionsAppendix(report: ChartedReport, standards: StandardDefinition[]): string {
  const used = new Map<string, Set<number>>();
  const note = (id: string, versions: number[]) => {
    const set = used.get(id) ?? new Set<number>();
    for (const version of versions) set.add(version);
    used.set(id, set);
  };
  for (const figures of [report.current, report.previous]) {
    if (!figures) continue;
    for (const figure of [
      figures.attendanceStandard,
      figures.averageFireAttendance,
      figures.wholetimeAvailability,
      figures.onCallAvailability,
      figures.falls,
      figures.policeEmergency,
      figures.calls999,
      figures.calls101,
    ]) {
      note(figure.standard, figure.versions);
    }
    // The outcome standard's versions are those in force on the days it covers.
    const outcome = standards.find((standard) => standard.id === figures.falls.outcomeStandard);
    if (outcome && figures.falls.outcomeCovers) {
      const { from, to } = figures.falls.outcomeCovers;
      note(
        outcome.id,
        outcome.versions
          .filter(
            (v) =>
              v.effective_from <= to && (v.effective_to === undefined || v.effective_to > from),
          )
          .map((v) => v.version),
      );
    }
  }
  const rows = [...used.entries()].flatMap(([id, versions]) => {
    const standard = standards.find((candidate) => candidate.id === id);
    if (!standard) return [];
    return (standard.versions as StandardDefinition['versions'][number][])
      .filter((version) => versions.has(version.version))
      .map((version) => {
        const clock =
          'clock' in version
            ? `${version.clock.start} → ${version.clock.stop}`
            : 'appliance time on the run';
        const method = 'percentile_method' in version ? version.percentile_method : '—';
        const exclusions =
          'exclusions' in version
            ? Object.entries(version.exclusions)
                .filter(([, value]) => value !== false && value !== null)
                .map(([name, value]) =>
                  value === true ? name.replace(/_/g, ' ') : `${name.replace(/_/g, ' ')} ${value}`,
                )
                .join(', ')
            : '—';
        const inForce = `${version.effective_from} – ${version.effective_to ?? 'in force'}`;
        return `<tr data-standard="${html(id)}" data-version="${version.version}"><th scope="row"><code>${html(id)}</code><br>${html(standard.name)}</th><td>${version.version}<br><span class="small">${html(inForce)}</span></td><td>${html(clock)}</td><td>${html(version.statistic.kind)}</td><td>${html(thresholdText(version.statistic))}</td><td>${html(method)}</td><td>${html(targetText(version.statistic))}</td><td>${version.minimum_sample}</td><td class="small">${html(exclusions)}</td></tr>`;
      });
  });
  return `<section class="appendix" id="appendix-definitions"><h2>Appendix C — Definitions used</h2>
<p>Every figure and chart comes from one of these response standards (services/standards/config, or the user's own where they override them): the version(s) in force on the report's days, the clock, the statistic and threshold, the percentile method, the target and the minimum sample (below it a figure is “n/a”).</p>
<table class="definitions"><thead><tr><th scope="col">standard</th><th scope="col">version</th><th scope="col">clock start → stop</th><th scope="col">statistic</th><th scope="col">threshold</th><th scope="col">percentile method</th><th scope="col">target</th><th scope="col">minimum sample</th><th scope="col">exclusions</th></tr></thead><tbody>${rows.join('')}</tbody></table></section>`;
}

const STYLE = `
@page { size: A4; margin: 15mm 14mm 16mm; }
* { box-sizing: border-box; }
body { margin: 0; color: #1b1b1b; font: 10pt/1.35 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
/* No ligatures: text copied or read out of the PDF says "fire", not "ﬁre". */
body { font-variant-ligatures: none; font-feature-settings: "liga" 0; }
main { max-width: 182mm; margin: 0 auto; padding: 8mm 0; }
@media print { main { padding: 0; max-width: none; } }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 6mm 0 2mm; border-bottom: 1px solid #999; }
h3 { font-size: 10.5pt; margin: 0 0 1mm; }
.meta { color: #444; margin: 0 0 4mm; }
.meta dt { float: left; clear: left; width: 34mm; font-weight: bold; }
.meta dd { margin: 0 0 0 35mm; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0 4mm; }
caption { text-align: left; font-weight: bold; padding: 1mm 0; }
th, td { border-bottom: 1px solid #d6d6d6; padding: 1.1mm 1.5mm; text-align: left; vertical-align: top; }
thead th { border-bottom: 1.5px solid #555; }
td.num, th.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table.annual tbody th { font-weight: normal; }
table.annual tr:not(.sub) th { font-weight: bold; }
table.annual tr.sub th { padding-left: 6mm; }
.verdict { font-weight: bold; padding: 0 1.5mm; border-radius: 2px; white-space: nowrap; }
table.annual tbody th { width: 42%; }
table.annual thead th.num { white-space: normal; }
.verdict.met { color: #0b6b2c; background: #dff3e4; }
.verdict.missed { color: #9b1c1c; background: #fbe3e3; }
.verdict.none { color: #555; }
.notes, .note, .small { font-size: 8.5pt; color: #444; }
figure.chart { margin: 0 0 5mm; break-inside: avoid; page-break-inside: avoid; }
figure.chart svg { max-width: 100%; height: auto; }
section.charts, section.operations { break-before: page; page-break-before: always; }
section.operations pre { font: 8.5pt/1.4 "DejaVu Sans Mono", monospace; white-space: pre-wrap; }
section.appendix { break-before: page; page-break-before: always; }
table.definitions { font-size: 8pt; }
table.quality-counts { width: 60%; }
code { font-size: 8.5pt; }
`;

/** The annual report as one self-contained HTML document, drawn from the report JSON alone. */
export async function reportDocument(
  report: ChartedReport,
  options: ReportDocumentOptions,
): Promise<string> {
  const charts = [
    attendanceByMonth(report.charts),
    attendanceByStation(report.charts),
    attendanceDistribution(report.charts),
    responseSegments(report.charts),
    calls999ByMonth(report.charts),
    availabilityByStation(report.charts),
    demandHeatmap(report.charts),
    categoriesYearOnYear(report),
  ];
  const figures: string[] = [];
  for (const chart of charts) figures.push(await figureHtml(chart));
  const { current, previous } = report;
  const asOf = report.charts.asOf;
  const title = `Annual performance report ${periodName(current)}`;
  return `<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(title)}</title>
<style>${STYLE}</style></head>
<body><main>
<header><h1>${html(title)}</h1>
<dl class="meta">
<dt>agencies</dt><dd data-meta="agencies">${html(report.agencies.join(', '))}</dd>
<dt>period</dt><dd data-meta="period">${html(periodName(current))} (London days, inclusive)</dd>
${previous ? `<dt>compared with</dt><dd data-meta="previous">${html(periodName(previous))}</dd>` : ''}
<dt>data as of</dt><dd data-meta="as-of">newest event ${html(asOf.newestEventAt ?? 'none')}, ingested ${html(asOf.ingestedAt ?? 'never')} (UTC)</dd>
<dt>made</dt><dd data-meta="generated">${html(options.generatedAt.toISOString())} by Bluelight ${html(options.productVersion)}</dd>
</dl></header>
<section class="table" id="annual">
${annualTable(report)}
</section>
<section class="charts" id="charts"><h2>Charts, ${html(periodName(current))}</h2>
${figures.join('\n')}
</section>
<section class="operations" id="operations"><h2>${html(report.operations.title)}, ${html(periodName(current))}</h2>
<pre>${html(operationsSectionText(report.operations).slice(2).join('\n'))}</pre>
</section>
${exclusionsAppendix(report)}
${dataQualityAppendix(report)}
${definitionsAppendix(report, options.standards)}
<section class="appendix colophon" id="appendix-provenance"><h2>Appendix D — Provenance</h2>
<p>Computed in ClickHouse from the events of ${html(report.agencies.join(', '))} by the standards in Appendix C; the table and every chart come from one report JSON (<code>bluelight report --format json --charts</code> gives it). Data as of: newest event ${html(asOf.newestEventAt ?? 'none')}, last ingested ${html(asOf.ingestedAt ?? 'never')} (UTC). Bluelight ${html(options.productVersion)}; document made ${html(options.generatedAt.toISOString())}.</p>
</section>
</main></body></html>
`;
}
