import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The public samples kept in the repository (test/data, with their publishers and licences in
 * its README), read independently of the importer under test: a plain quote-aware splitter (the
 * samples have no line breaks in cells).
 */

const repositoryRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const publicData = path.join(repositoryRoot, 'test/data');

export const SAMPLES = {
  lfbIncidents: path.join(publicData, 'lfb-incidents.sample.csv'),
  lfbMobilisations: path.join(publicData, 'lfb-mobilisations.sample.csv'),
  sffd: path.join(publicData, 'sffd-calls-for-service.sample.csv'),
};

function splitLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let index = 0; index < line.length; index += 1) {
    const character = line[index];
    if (quoted) {
      if (character === '"' && line[index + 1] === '"') {
        cell += '"';
        index += 1;
      } else if (character === '"') {
        quoted = false;
      } else {
        cell += character;
      }
    } else if (character === '"') {
      quoted = true;
    } else if (character === ',') {
      cells.push(cell);
      cell = '';
    } else {
      cell += character;
    }
  }
  cells.push(cell);
  return cells;
}

/** The rows of a CSV file as objects keyed by the header, each with its line number. */
export function readCsvText(file: string): { line: number; cells: Record<string, string> }[] {
  const [header, ...lines] = readFileSync(file, 'utf8')
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/);
  const columns = splitLine(header ?? '');
  return lines
    .map((text, index) => ({ text, line: index + 2 }))
    .filter(({ text }) => text.trim() !== '')
    .map(({ text, line }) => {
      const values = splitLine(text);
      return {
        line,
        cells: Object.fromEntries(columns.map((column, at) => [column, values[at] ?? ''])),
      };
    });
}
