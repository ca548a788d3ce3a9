import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openEventOutput } from '@bluelight/event-output';
import { createLogger } from '@bluelight/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFiles } from './importer.js';
import { compileMapping } from './mapping.js';
import { openRowErrorFile } from './row-errors.js';

/** docs/importing.md's worked example, run as written: its inputs and outputs are the docs' own. */

const docsFile = fileURLToPath(new URL('../../../docs/importing.md', import.meta.url));

/** The fenced block after `<!-- example: NAME -->`. */
function example(markdown: string, name: string): string {
  const match = new RegExp(`<!-- example: ${name} -->\\s*\`\`\`\\w*\\n([\\s\\S]*?)\`\`\``).exec(
    markdown,
  );
  if (!match?.[1]) throw new Error(`docs/importing.md has no example ${name}`);
  return match[1];
}

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(path.join(os.tmpdir(), 'bluelight-docs-example-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('the worked example in docs/importing.md', () => {
  it('imports as the docs show: the events of NS-24-0311 and the rejected row', async () => {
    const markdown = await readFile(docsFile, 'utf8');
    const csv = path.join(directory, 'northshire-incidents.csv');
    await writeFile(csv, example(markdown, 'northshire-incidents.csv'));
    const out = path.join(directory, 'events.ndjson');
    const rejected = path.join(directory, 'rejected.csv');
    const output = await openEventOutput(
      { kind: 'file', path: out },
      createLogger({ service: 'docs-example', level: 'silent' }),
    );
    const errorReport = await openRowErrorFile(rejected);
    const summary = await importFiles({
      mapping: compileMapping(example(markdown, 'northshire.yaml'), 'northshire.yaml'),
      files: [csv],
      output,
      errorReport,
    });
    await output.close();
    await errorReport.close();

    expect(summary).toMatchObject({
      rowsRead: 4,
      rowsImported: 3,
      rowsRejected: 1,
      eventsWritten: 10,
    });
    const incident0311 = (await readFile(out, 'utf8'))
      .split('\n')
      .filter((line) => line.includes('"incident_id":"NS-24-0311"'));
    expect(incident0311).toEqual(example(markdown, 'events.ndjson').trim().split('\n'));
    expect((await readFile(rejected, 'utf8')).replaceAll(csv, 'northshire-incidents.csv')).toBe(
      example(markdown, 'rejected.csv'),
    );
  });

  it('reports the mapping errors the docs show', async () => {
    const markdown = await readFile(docsFile, 'utf8');
    const withTypos = example(markdown, 'northshire.yaml')
      .replace(
        'alerted: { time: Alerted, format: clock',
        'alerted: { time: Alerted, format: clocks',
      )
      .replace('station_ground:', 'staton_ground:');
    expect(() => compileMapping(withTypos, 'northshire.yaml')).toThrow(
      example(markdown, 'mapping-errors').replace('bluelight: ', '').trim(),
    );
  });

  it('matches codes as the code-table example says, and reports its bad pattern as shown', async () => {
    const markdown = await readFile(docsFile, 'utf8');
    // The worked example's mapping with the docs' Dublin table in place of its own.
    const mapping = example(markdown, 'northshire.yaml')
      .replace(/tables:\n[\s\S]*?\n\nrecords:/, `${example(markdown, 'code-table')}\nrecords:`)
      .replace('table: categories', 'table: dublin_types');
    const [header = '', firstRow = ''] = example(markdown, 'northshire-incidents.csv').split('\n');
    const columns = header.split(',');
    const [record] = compileMapping(mapping, 'dublin.yaml').records;
    const categoryOf = (code: string) => {
      const cells = firstRow.split(',');
      cells[columns.indexOf('Type Code')] = code;
      const outcome = record?.mapRow({
        cells,
        columnIndex: new Map(columns.map((column, index) => [column, index])),
      });
      if (!outcome?.ok) return outcome?.problems.map((problem) => problem.reason);
      return (outcome.events[0]?.payload as { details: { category: unknown } } | undefined)?.details
        .category;
    };
    expect(categoryOf('F/CHIMNEY')).toEqual({ type: 'chimney_fire' });
    expect(categoryOf('F/DWELLING HOUSE')).toEqual({
      type: 'primary_fire',
      location_type: 'dwelling',
    });
    expect(categoryOf('F/SKIP')).toEqual({ type: 'secondary_fire' });
    expect(categoryOf('S/S RTC CAR')).toEqual({
      type: 'special_service',
      special_service_type: 'road_traffic_collision',
    });
    expect(categoryOf('S/S LIFT')).toEqual({
      type: 'special_service',
      special_service_type: 'other',
    });
    expect(categoryOf('MALICIOUS')).toEqual({ type: 'false_alarm', false_alarm_type: 'malicious' });
    expect(categoryOf('Basement Flood')).toEqual({
      type: 'special_service',
      special_service_type: 'flooding',
    });
    expect(categoryOf('X')).toEqual(['code "X" is not in table dublin_types']);

    const broken = mapping.replace('pattern: flood,', "pattern: 'flood(',");
    const shown = example(markdown, 'code-table-error').replace('bluelight: ', '').trim();
    let message = '';
    try {
      compileMapping(broken, 'dublin.yaml');
    } catch (error) {
      message = (error as Error).message;
    }
    // The line is the pattern's in the worked example's mapping with this table in it.
    expect(message).toBe(shown);
  });
});
