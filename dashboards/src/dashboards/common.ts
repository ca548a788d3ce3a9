import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

/** Every dashboard: London time, weeks from Monday, tagged, read-only as provisioned. */
export function bluelightDashboard(uid: string, title: string, description: string) {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['bluelight'])
    .timezone('Europe/London')
    .weekStart('monday')
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair);
}

/**
 * Labels for reporting bands, e.g. [10, 60] → "≤ 10 s", "10–60 s", "> 60 s": each band ends at
 * its bound inclusive, as the standard's "within" does (10.0 s is within 10 s).
 */
export function bandLabels(bands: number[]): string[] {
  if (bands.length === 0) return ['all'];
  const labels = [`≤ ${bands[0]} s`];
  for (let index = 1; index < bands.length; index++) {
    labels.push(`${bands[index - 1]}–${bands[index]} s`);
  }
  labels.push(`> ${bands.at(-1)} s`);
  return labels;
}

/** A SQL string literal for a label we wrote ourselves (never user input). */
export const label = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** A quoted column alias (a display name we wrote ourselves). */
export function ident(name: string): string {
  if (/["\\`]/.test(name)) throw new Error(`not a plain column name: ${name}`);
  return `"${name}"`;
}
