/**
 * Charts drawn on the server: a Vega-Lite spec compiled and rendered to SVG in Node (no browser,
 * no script in the page), and text made safe for HTML. Shared by the dashboard previews and the
 * annual report document.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec } from 'vega-lite';

/** Text as HTML text or attribute value (&, <, >, " and ' as character references). */
export const escapeHtml = (text: unknown) =>
  String(text ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A Vega-Lite spec as an SVG document (a string starting `<svg`). */
export async function svgOf(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * A chart's SVG made accessible: `role="img"`, an `aria-label` with its title, and `<title>`
 * and `<desc>` (the text alternative: what a screen reader says instead of the picture).
 */
export function accessibleSvg(svg: string, title: string, description: string): string {
  return svg.replace(/^<svg([^>]*)>/, (_whole, attributes: string) => {
    const kept = attributes.replace(/\s(role|aria-label|aria-roledescription)="[^"]*"/g, '');
    return `<svg${kept} role="img" aria-label="${escapeHtml(title)}"><title>${escapeHtml(title)}</title><desc>${escapeHtml(description)}</desc>`;
  });
}
