import { describe, expect, it } from 'vitest';
import { accessibleSvg, escapeHtml, svgOf } from './charts.js';

describe('server-drawn charts', () => {
  it('renders a Vega-Lite spec to SVG in Node, a bar per value', async () => {
    const svg = await svgOf({
      data: {
        values: [
          { x: 'a', y: 1 },
          { x: 'b', y: 3 },
        ],
      },
      mark: 'bar',
      encoding: { x: { field: 'x', type: 'nominal' }, y: { field: 'y', type: 'quantitative' } },
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(
      svg.match(/<g class="mark-rect role-mark[^>]*>(.*?)<\/g>/)?.[1]?.match(/<path/g),
    ).toHaveLength(2);
  });

  it('labels and describes a chart for screen readers, escaping the text', () => {
    const svg = accessibleSvg(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" role="graphics-document"><g/></svg>',
      'Met <80%> & "more"',
      'April 81%',
    );
    expect(svg).toBe(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" role="img" aria-label="Met &#60;80%&#62; &#38; &#34;more&#34;"><title>Met &#60;80%&#62; &#38; &#34;more&#34;</title><desc>April 81%</desc><g/></svg>',
    );
    expect(escapeHtml("it's")).toBe('it&#39;s');
  });
});
