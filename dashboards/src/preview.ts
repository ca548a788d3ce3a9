/**
 * Static previews of the provisioned dashboards: each panel's own query run against ClickHouse
 * the way Grafana and the ClickHouse plugin would (testing/grafana-emulator.ts), drawn as a
 * self-contained HTML page (no network requests) laid out by each panel's gridPos. Stat and
 * gauge panels use Grafana's reduction (grafana-reduce.ts); time series and bar charts are
 * Vega-Lite, rendered to inline SVG in Node; state timelines are bands drawn here. A preview for review and documentation, not a Grafana replacement.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { escapeHtml as html, svgOf, type TopLevelSpec } from './charts.js';
import {
  displayedValues,
  displayNameOverrides,
  frameOf,
  type ReduceOptions,
} from './grafana-reduce.js';
import {
  allValues,
  type Dashboard,
  type Panel,
  provisionedDashboards,
  type Result,
  runPanel,
} from './testing/grafana-run.js';

export interface PreviewRange {
  /** Unset: each dashboard's own default range (its `time.from`, e.g. now-24h) ending at `to`. */
  from?: Date;
  to: Date;
}

const londonOffset = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  timeZoneName: 'shortOffset',
});

/** London's offset from UTC at `ms`, in ms (0 in winter, 3,600,000 in summer time). */
function londonOffsetMs(ms: number): number {
  const name = londonOffset.formatToParts(new Date(ms)).find((p) => p.type === 'timeZoneName');
  const match = /GMT([+-]\d+)?/.exec(name?.value ?? 'GMT');
  return Number(match?.[1] ?? 0) * 3_600_000;
}

const FIXED_UNITS_MS: Record<string, number> = { s: 1e3, m: 6e4, h: 3.6e6 };

/**
 * A dashboard's relative `time.from` (`now-24h`, `now-7d`, `now-1y`, …) counted back from `to` as
 * Grafana's date math does in the dashboards' time zone (Europe/London): seconds, minutes and
 * hours as elapsed time; days, weeks, months and years on London's calendar, keeping the wall
 * clock time, so `now-7d` over the clocks change is 167 or 169 hours.
 */
export function relativeFrom(text: string | undefined, to: Date): Date {
  const match = /^now-(\d+)([smhdwMy])$/.exec(text ?? '');
  if (!match) throw new Error(`not a relative time Grafana's range picker writes: ${text}`);
  const amount = Number(match[1]);
  const unit = match[2] as string;
  const fixed = FIXED_UNITS_MS[unit];
  if (fixed !== undefined) return new Date(to.getTime() - amount * fixed);
  // London's wall clock as a UTC date, moved on the calendar, then back to an instant.
  const wall = new Date(to.getTime() + londonOffsetMs(to.getTime()));
  if (unit === 'y') wall.setUTCFullYear(wall.getUTCFullYear() - amount);
  else if (unit === 'M') wall.setUTCMonth(wall.getUTCMonth() - amount);
  else wall.setUTCDate(wall.getUTCDate() - amount * (unit === 'w' ? 7 : 1));
  const guess = wall.getTime() - londonOffsetMs(wall.getTime());
  return new Date(wall.getTime() - londonOffsetMs(guess));
}

interface PanelJson extends Panel {
  gridPos?: { x: number; y: number; w: number; h: number };
  options?: { reduceOptions?: ReduceOptions; colorMode?: string; textMode?: string };
  fieldConfig?: {
    defaults?: {
      unit?: string;
      decimals?: number;
      mappings?: ValueMapping[];
      thresholds?: { mode?: string; steps?: { value: number | null; color: string }[] };
    };
  };
}

/** Grafana's value mapping (`type: 'value'`): a raw value's text and colour. */
interface ValueMapping {
  type: string;
  options?: Record<string, { text?: string; color?: string }>;
}

const ROW_PX = 30;

/** Grafana's automatic decimals (valueFormats.ts `getDecimalsForValue`). */
function autoDecimals(value: number): number {
  const log10 = Math.floor(Math.log(Math.abs(value)) / Math.LN10);
  let decimals = -log10 + 1;
  const norm = value / 10 ** -decimals;
  if (norm > 2.25) decimals++;
  if (value % 1 === 0) decimals = 0;
  return Math.max(0, decimals);
}

/** Grafana's `toFixed`: rounded to the given or automatic decimals, zero-padded to them. */
export function grafanaFixed(value: number, decimals?: number): string {
  if (!Number.isFinite(value)) return value.toLocaleString();
  const places = decimals ?? autoDecimals(value);
  if (value === 0) return value.toFixed(places);
  const factor = places ? 10 ** Math.max(0, places) : 1;
  const formatted = String(Math.round(value * factor) / factor);
  if (formatted.includes('e')) return formatted;
  const point = formatted.indexOf('.');
  const precision = point === -1 ? 0 : formatted.length - point - 1;
  return precision < places
    ? (precision ? formatted : `${formatted}.`) + String(factor).slice(1, places - precision + 1)
    : formatted;
}

/** Grafana's `toSeconds` from a second up (the previews' delays): s, min, hour, day, week, year. */
function seconds(size: number, decimals?: number): string {
  const abs = Math.abs(size);
  if (abs < 1) return `${grafanaFixed(size * 1e3, decimals)} ms`;
  if (abs < 60) return `${grafanaFixed(size, decimals)} s`;
  if (abs < 3600) return `${grafanaFixed(size / 60, decimals)} min`;
  if (abs < 86400) return `${grafanaFixed(size / 3600, decimals)} hour`;
  if (abs < 604800) return `${grafanaFixed(size / 86400, decimals)} day`;
  if (abs < 31536000) return `${grafanaFixed(size / 604800, decimals)} week`;
  return `${grafanaFixed(size / 3.15569e7, decimals)} year`;
}

/** Grafana's `toHours`. */
function hours(size: number, decimals?: number): string {
  const abs = Math.abs(size);
  if (abs < 24) return `${grafanaFixed(size, decimals)} hour`;
  if (abs < 168) return `${grafanaFixed(size / 24, decimals)} day`;
  if (abs < 8760) return `${grafanaFixed(size / 168, decimals)} week`;
  return `${grafanaFixed(size / 8760, decimals)} year`;
}

/** Grafana's `toMinutes`: under a minute in seconds, then min, hour, day, week, year. */
function minutes(size: number, decimals?: number): string {
  const abs = Math.abs(size);
  if (abs < 1) return seconds(size * 60, decimals);
  if (abs < 60) return `${grafanaFixed(size, decimals)} min`;
  if (abs < 1440) return `${grafanaFixed(size / 60, decimals)} hour`;
  if (abs < 10080) return `${grafanaFixed(size / 1440, decimals)} day`;
  if (abs < 525600) return `${grafanaFixed(size / 10080, decimals)} week`;
  return `${grafanaFixed(size / 5.25948e5, decimals)} year`;
}

/**
 * A value as Grafana's display processor writes it for the units the panels use (`percentunit`,
 * `s`, `m`, `h`, none), after grafana-data's valueFormats.ts and dateTimeFormatters.ts.
 */
export function formatValue(value: unknown, unit?: string, decimals?: number): string {
  if (value === null || value === undefined) return '—';
  if (typeof value !== 'number') return String(value);
  if (unit === 'percentunit') return `${grafanaFixed(value * 100, decimals)}%`;
  if (unit === 's') return seconds(value, decimals);
  if (unit === 'm') return minutes(value, decimals);
  if (unit === 'h') return hours(value, decimals);
  return grafanaFixed(value, decimals);
}

const isNumeric = (type: string) => /^(Nullable\()?(U?Int\d+|Float\d+|Decimal)/.test(type);
const isTime = (type: string) => /^(Nullable\()?(DateTime|Date)/.test(type);

/** Long rows (one per time and value column, per label) as Vega-Lite wants them. */
function longRows(result: Result) {
  const time = result.meta.find((column) => isTime(column.type));
  const labels = result.meta.filter((column) => /String/.test(column.type));
  const values = result.meta.filter((column) => isNumeric(column.type));
  return result.rows.flatMap((row) =>
    values.map((column) => ({
      x: time ? String(row[time.name]).replace(' ', 'T') : String(row[labels[0]?.name ?? ''] ?? ''),
      series: [
        ...labels.map((label) => String(row[label.name])),
        values.length > 1 || labels.length === 0 ? column.name : '',
      ]
        .filter((part) => part !== '')
        .join(' '),
      y: row[column.name] === null ? null : Number(row[column.name]),
    })),
  );
}

async function chart(panel: PanelJson, results: Result[], width: number, height: number) {
  const data = results.flatMap(longRows);
  if (data.length === 0) return '<p class="empty">No data</p>';
  const bar = panel.type === 'barchart';
  const spec: TopLevelSpec = {
    width,
    height,
    data: { values: data },
    mark: bar ? { type: 'bar', tooltip: false } : { type: 'line', point: true },
    encoding: {
      x: bar
        ? { field: 'x', type: 'nominal', title: null, sort: null, axis: { labelAngle: 0 } }
        : { field: 'x', type: 'temporal', title: null },
      y: { field: 'y', type: 'quantitative', title: null },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom' } },
      ...(bar ? { xOffset: { field: 'series' } } : {}),
    },
    config: {
      background: '#181b1f',
      view: { stroke: null },
      axis: { labelColor: '#ccc', gridColor: '#333', domainColor: '#555' },
      legend: { labelColor: '#ccc' },
    },
  };
  return svgOf(spec);
}

function table(results: Result[], heat: boolean): string {
  const result = results[0];
  if (!result || result.rows.length === 0) return '<p class="empty">No data</p>';
  const max = Math.max(
    1,
    ...result.rows.flatMap((row) =>
      result.meta.filter((c) => isNumeric(c.type)).map((c) => Number(row[c.name] ?? 0)),
    ),
  );
  const cell = (column: { name: string; type: string }, value: unknown) => {
    if (!heat || !isNumeric(column.type) || value === null)
      return `<td>${html(formatValue(value))}</td>`;
    const alpha = (Number(value) / max).toFixed(2);
    return `<td style="background: rgba(255,120,50,${alpha})">${html(value)}</td>`;
  };
  return `<table><thead><tr>${result.meta.map((c) => `<th>${html(c.name)}</th>`).join('')}</tr></thead><tbody>${result.rows
    .map((row) => `<tr>${result.meta.map((c) => cell(c, row[c.name])).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** Grafana's named colours the panels use, as its dark theme draws them. */
const NAMED_COLOURS: Record<string, string> = {
  green: '#73bf69',
  red: '#f2495c',
  orange: '#ff9830',
  yellow: '#fade2a',
  blue: '#5794f2',
};
const STATE_PALETTE = ['#7eb26d', '#eab839', '#6ed0e0', '#ef843c', '#e24d42', '#1f78c1'];

/** A ClickHouse DateTime/DateTime64 in JSON ('2024-04-05 11:59:40.000', UTC) as epoch ms. */
const instantMs = (value: unknown) =>
  Date.parse(
    `${String(value).replace(' ', 'T')}${/[zZ]|[+-]\d\d:?\d\d$/.test(String(value)) ? '' : 'Z'}`,
  );

/**
 * A state timeline as Grafana draws one: a band per series (the String columns of a row), each
 * value lasting from its row's time until the series' next row (or the end of the range), coloured
 * and named by the panel's value mappings.
 */
function stateTimeline(
  panel: PanelJson,
  results: Result[],
  range: { from: Date; to: Date },
  width: number,
  height: number,
): string {
  const result = results[0];
  const time = result?.meta.find((column) => isTime(column.type));
  const value = result?.meta.find((column) => isNumeric(column.type));
  if (!result || !time || !value || result.rows.length === 0) return '<p class="empty">No data</p>';
  const labels = result.meta.filter((column) => /String/.test(column.type));
  const series = new Map<string, { at: number; value: unknown }[]>();
  for (const row of result.rows) {
    const name = labels.map((label) => String(row[label.name])).join(' ') || value.name;
    const points = series.get(name) ?? [];
    points.push({ at: instantMs(row[time.name]), value: row[value.name] });
    series.set(name, points);
  }
  const mapping = Object.assign(
    {},
    ...(panel.fieldConfig?.defaults?.mappings ?? [])
      .filter((one) => one.type === 'value')
      .map((one) => one.options ?? {}),
  ) as Record<string, { text?: string; color?: string }>;
  const states = [...new Set(result.rows.map((row) => String(row[value.name])))].sort();
  const colourOf = (state: string) => {
    const named = mapping[state]?.color;
    return (
      (named && (NAMED_COLOURS[named] ?? named)) ??
      STATE_PALETTE[states.indexOf(state) % STATE_PALETTE.length]
    );
  };
  const textOf = (state: string) => mapping[state]?.text ?? state;
  const start = Math.min(range.from.getTime(), ...[...series.values()].map((p) => p[0]?.at ?? 0));
  const end = range.to.getTime();
  const labelWidth = 150;
  const plotWidth = Math.max(40, width - labelWidth);
  const legendHeight = 18;
  const band = Math.max(8, Math.min(28, (height - legendHeight - 16) / series.size));
  const x = (ms: number) => labelWidth + ((ms - start) / Math.max(1, end - start)) * plotWidth;
  const rows = [...series.entries()].map(([name, points], index) => {
    const y = index * band;
    const segments = points.map((point, i) => {
      const until = points[i + 1]?.at ?? end;
      const state = String(point.value);
      return `<rect data-state="${html(textOf(state))}" x="${x(point.at).toFixed(1)}" y="${(y + 1).toFixed(1)}" width="${Math.max(0.5, x(until) - x(point.at)).toFixed(1)}" height="${(band * 0.9 - 1).toFixed(1)}" fill="${html(colourOf(state))}" fill-opacity="0.7"><title>${html(`${name}: ${textOf(state)} from ${new Date(point.at).toISOString()}`)}</title></rect>`;
    });
    return `<g class="state-row" data-series="${html(name)}"><text x="${labelWidth - 6}" y="${(y + band * 0.6).toFixed(1)}" text-anchor="end" fill="#ccc" font-size="11">${html(name)}</text>${segments.join('')}</g>`;
  });
  const axisY = series.size * band + 12;
  const london = (ms: number) =>
    new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/London',
      day: '2-digit',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
    }).format(new Date(ms));
  const legend = states
    .map(
      (state, i) =>
        `<rect x="${labelWidth + i * 110}" y="${axisY + 8}" width="10" height="10" fill="${html(colourOf(state))}"/><text x="${labelWidth + i * 110 + 14}" y="${axisY + 17}" fill="#ccc" font-size="11">${html(textOf(state))}</text>`,
    )
    .join('');
  return `<svg class="state-timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${axisY + legendHeight + 8}" role="img" aria-label="${html(panel.title)}">${rows.join('')}<text x="${labelWidth}" y="${axisY}" fill="#8e8e9e" font-size="10">${html(london(start))}</text><text x="${labelWidth + plotWidth}" y="${axisY}" text-anchor="end" fill="#8e8e9e" font-size="10">${html(london(end))}</text>${legend}</svg>`;
}

/** Grafana's default thresholds for a field that sets none (green, red from 80). */
const DEFAULT_STEPS = [
  { value: null, color: 'green' },
  { value: 80, color: 'red' },
];

/** The colour of the last threshold step at or below `value` (Grafana's absolute thresholds). */
export function thresholdColour(
  value: number | string | null,
  steps: { value: number | null; color: string }[] = DEFAULT_STEPS,
): string | undefined {
  if (typeof value !== 'number') return undefined;
  let colour = steps[0]?.color;
  for (const step of steps) if (step.value === null || value >= step.value) colour = step.color;
  return colour === undefined ? undefined : (NAMED_COLOURS[colour] ?? colour);
}

/**
 * Whether a stat draws each value's name (Grafana's BigValue `textMode`): `auto` names values only
 * when there is more than one.
 */
export const showsName = (textMode: string | undefined, count: number) =>
  textMode === 'value_and_name' ||
  textMode === 'name' ||
  (textMode !== 'value' && textMode !== 'none' && count > 1);

function stat(panel: PanelJson, results: Result[]): string {
  const result = results[0];
  if (!result) return '<p class="empty">No data</p>';
  const names = displayNameOverrides(panel.fieldConfig);
  const shown = displayedValues(
    frameOf(result.meta, result.rows, names),
    panel.options?.reduceOptions ?? {},
  );
  const unit = panel.fieldConfig?.defaults?.unit;
  const decimals = panel.fieldConfig?.defaults?.decimals;
  const steps = panel.fieldConfig?.defaults?.thresholds?.steps;
  const colorMode = panel.options?.colorMode ?? 'value';
  const named = showsName(panel.options?.textMode, shown.length);
  return `<div class="stats">${shown
    .map((one) => {
      // No value: Grafana's text colour on the panel's own background.
      const colour =
        thresholdColour(one.value, steps) ?? (colorMode === 'background' ? '#2c3235' : '#ccccdc');
      const style =
        colorMode === 'background'
          ? ` style="background:${colour};color:#fff"`
          : colorMode === 'value'
            ? ` style="color:${colour}"`
            : '';
      const name = named ? `<div class="stat-title">${html(one.title)}</div>` : '';
      return `<div class="stat" data-title="${html(one.title)}" data-value="${html(one.value)}" data-colour="${html(colour)}"${style}><div class="stat-value">${html(formatValue(one.value, unit, decimals))}</div>${name}</div>`;
    })
    .join('')}</div>`;
}

/** One panel's HTML (its queries run as Grafana would, variables at All). */
async function panelHtml(
  client: ClickHouseClient,
  panel: PanelJson,
  context: Parameters<typeof runPanel>[2],
): Promise<string> {
  const grid = panel.gridPos ?? { x: 0, y: 0, w: 12, h: 8 };
  let body: string;
  try {
    const results = await runPanel(client, panel, context);
    const width = Math.max(120, grid.w * 50 - 90);
    const height = Math.max(60, grid.h * ROW_PX - 90);
    body =
      panel.type === 'stat' || panel.type === 'gauge'
        ? stat(panel, results)
        : panel.type === 'table' || panel.type === 'heatmap'
          ? table(results, panel.type === 'heatmap' || /Demand by day/.test(panel.title))
          : panel.type === 'state-timeline'
            ? stateTimeline(panel, results, context, width + 60, height)
            : await chart(panel, results, width, height);
  } catch (error) {
    body = `<p class="error">query failed: ${html(error instanceof Error ? error.message : error)}</p>`;
  }
  return `<section class="panel panel-${html(panel.type)}" data-title="${html(panel.title)}" style="grid-column: ${grid.x + 1} / span ${grid.w}; grid-row: ${grid.y + 1} / span ${grid.h}"><h2>${html(panel.title)}</h2><div class="body">${body}</div></section>`;
}

const STYLE = `body{margin:0;background:#111217;color:#ccccdc;font:13px/1.3 system-ui,sans-serif}
header{padding:8px 12px}header h1{font-size:18px;margin:0}header p{margin:2px 0;color:#8e8e9e}
main{display:grid;grid-template-columns:repeat(24,1fr);grid-auto-rows:${ROW_PX}px;gap:6px;padding:6px;width:1200px}
.panel{background:#181b1f;border:1px solid #2c3235;border-radius:3px;overflow:hidden;display:flex;flex-direction:column}
.panel h2{font-size:13px;margin:0;padding:6px 8px}.body{flex:1;overflow:hidden;padding:0 8px 6px}
.stats{display:flex;flex-wrap:wrap;gap:6px;height:100%}.stat{flex:1;min-width:70px;background:#22252b;border-radius:3px;padding:4px;text-align:center}
.stat-value{font-size:24px;font-weight:600}.stat-title{font-size:11px;color:#e0e0e0}
table{border-collapse:collapse;font-size:11px;width:100%}th,td{border-bottom:1px solid #2c3235;padding:2px 4px;text-align:left}
.error{color:#f55}.empty{color:#8e8e9e}`;

/** A dashboard as one self-contained HTML page. */
export async function dashboardPreview(
  client: ClickHouseClient,
  dashboard: Dashboard,
  range: PreviewRange,
): Promise<string> {
  const to = range.to;
  const from =
    range.from ?? relativeFrom((dashboard as { time?: { from?: string } }).time?.from, to);
  // About 200 intervals over the range, at least a minute (Grafana's max data points, roughly).
  const context = {
    from,
    to,
    intervalSeconds: Math.max(60, Math.floor((to.getTime() - from.getTime()) / 1000 / 200)),
  };
  const all = await allValues(client, dashboard, context);
  const panels: string[] = [];
  for (const panel of dashboard.panels as PanelJson[]) {
    panels.push(
      await panelHtml(client, panel, { ...context, variables: all, all: Object.keys(all) }),
    );
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${html(dashboard.title)} — preview</title><style>${STYLE}</style></head><body><header><h1>${html(dashboard.title)}</h1><p>Preview from ClickHouse, ${html(from.toISOString())} → ${html(to.toISOString())}, every variable at All. Not Grafana: an approximation of its look.</p></header><main>${panels.join('')}</main></body></html>\n`;
}

/** Writes one page per provisioned dashboard into `out`; returns the files written. */
export async function writePreviews(
  client: ClickHouseClient,
  out: string,
  range: PreviewRange,
  progress: (line: string) => void = () => {},
): Promise<string[]> {
  mkdirSync(out, { recursive: true });
  const written: string[] = [];
  for (const dashboard of provisionedDashboards()) {
    const started = Date.now();
    const file = path.join(out, `${dashboard.uid}.html`);
    writeFileSync(file, await dashboardPreview(client, dashboard, range));
    written.push(file);
    progress(
      `${dashboard.title}: ${dashboard.panels.length} panels → ${file} (${Date.now() - started} ms)`,
    );
  }
  return written;
}
