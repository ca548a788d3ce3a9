import { createHash } from 'node:crypto';
import { MigrationError } from './errors.js';

/** One statement of a migration section; ClickHouse's HTTP interface takes one per request. */
export interface Statement {
  /** The SQL without its terminating `;`, placeholders not yet filled. */
  sql: string;
  /** The file line the statement starts on, for error messages. */
  line: number;
}

export interface Migration {
  version: number;
  /** The file name without `.sql`, e.g. `0002_add_appliances`. */
  name: string;
  fileName: string;
  /** sha256 of the normalised file text: an applied migration must never change. */
  checksum: string;
  up: Statement[];
  /** Empty when the migration is irreversible. */
  down: Statement[];
  irreversible: boolean;
}

export const MIGRATION_FILE_NAME = /^(\d{4})_([a-z][a-z0-9]*(?:_[a-z0-9]+)*)\.sql$/;
export const FILE_NAME_RULE =
  'expected NNNN_snake_name.sql: a 4-digit number, then lower-case words joined by _';

const PLACEHOLDERS = new Set(['ON_CLUSTER', 'REPLICATED']);
const PLACEHOLDER = /\{\{([^}]*)\}\}/g;
const MARKER = /^--\s*migrate:(\S*)\s*(.*)$/;
const CLUSTER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * The text a checksum is taken of: line endings, a byte-order mark and trailing whitespace do not
 * count, so a checkout with CRLF line endings or an editor trimming spaces is not an "edit".
 */
export function normaliseMigrationText(text: string): string {
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\r|\n/)
    .map((line) => line.trimEnd());
  return `${lines.join('\n').trimEnd()}\n`;
}

export function migrationChecksum(text: string): string {
  return createHash('sha256').update(normaliseMigrationText(text)).digest('hex');
}

/**
 * Parses one migration file. Sections start at `-- migrate:up` and `-- migrate:down` (or
 * `-- migrate:down irreversible`, with nothing after it); a `;` ending a line ends a statement;
 * whole-line `--` comments are dropped.
 */
export function parseMigration(fileName: string, text: string): Migration {
  const nameMatch = MIGRATION_FILE_NAME.exec(fileName);
  if (!nameMatch?.[1]) throw new MigrationError(`${fileName}: ${FILE_NAME_RULE}`);
  const problem = (line: number, message: string) =>
    new MigrationError(`${fileName}, line ${line}: ${message}`);

  const sections: Record<'up' | 'down', Statement[]> = { up: [], down: [] };
  let section: 'preamble' | 'up' | 'down' = 'preamble';
  let markerLine = 0;
  let irreversible = false;
  let current: { lines: string[]; line: number } | undefined;

  const finishSection = () => {
    if (section === 'preamble') return;
    if (current) {
      sections[section].push({ sql: current.lines.join('\n').trim(), line: current.line });
      current = undefined;
    }
    const [firstDown] = sections.down;
    if (section === 'up' && sections.up.length === 0) {
      throw problem(markerLine, 'the up section has no statements');
    }
    if (section === 'down' && irreversible && firstDown) {
      throw problem(
        firstDown.line,
        'the down section is marked irreversible, so it must not contain statements',
      );
    }
    if (section === 'down' && !irreversible && !firstDown) {
      throw problem(
        markerLine,
        'the down section is empty: write the statements that undo the up section, or mark it `-- migrate:down irreversible`',
      );
    }
  };

  // The normalised text ends with a newline; the empty string after it is not a line.
  const lines = normaliseMigrationText(text).split('\n').slice(0, -1);
  for (const [index, rawLine] of lines.entries()) {
    const lineNumber = index + 1;
    const line = rawLine.trim();
    const marker = MARKER.exec(line);
    if (marker) {
      const [, kind, rest] = marker;
      if (kind === 'up' && rest === '') {
        if (section !== 'preamble') throw problem(lineNumber, 'a second `-- migrate:up` line');
        section = 'up';
      } else if (kind === 'down' && (rest === '' || rest === 'irreversible')) {
        if (section === 'preamble') {
          throw problem(lineNumber, '`-- migrate:down` comes before `-- migrate:up`');
        }
        if (section === 'down') throw problem(lineNumber, 'a second `-- migrate:down` line');
        finishSection();
        section = 'down';
        irreversible = rest === 'irreversible';
      } else {
        throw problem(
          lineNumber,
          `unknown marker "${line}"; expected -- migrate:up, -- migrate:down or -- migrate:down irreversible`,
        );
      }
      markerLine = lineNumber;
      continue;
    }
    if (line === '' || line.startsWith('--')) continue;
    if (section === 'preamble') {
      throw problem(lineNumber, 'SQL before the `-- migrate:up` line');
    }
    for (const [, placeholder] of line.matchAll(PLACEHOLDER)) {
      if (!PLACEHOLDERS.has(placeholder ?? '')) {
        throw problem(
          lineNumber,
          `unknown placeholder {{${placeholder}}}; the placeholders are {{ON_CLUSTER}} and {{REPLICATED}}`,
        );
      }
    }
    current ??= { lines: [], line: lineNumber };
    current.lines.push(rawLine);
    if (line.endsWith(';')) {
      const sql = current.lines.join('\n').trim().slice(0, -1).trim();
      if (sql === '') throw problem(lineNumber, 'an empty statement (a `;` on its own)');
      sections[section].push({ sql, line: current.line });
      current = undefined;
    }
  }

  const lastLine = Math.max(1, lines.length);
  if (section === 'preamble') throw problem(lastLine, 'no `-- migrate:up` line');
  if (section === 'up') {
    throw problem(
      lastLine,
      'no `-- migrate:down` section: write one, or `-- migrate:down irreversible` if the migration cannot be undone',
    );
  }
  finishSection();

  return {
    version: Number(nameMatch[1]),
    name: fileName.slice(0, -'.sql'.length),
    fileName,
    checksum: migrationChecksum(text),
    up: sections.up,
    down: sections.down,
    irreversible,
  };
}

/** Rejects anything but a plain cluster name, since it is written into SQL between quotes. */
export function checkClusterName(cluster: string): string {
  if (!CLUSTER_NAME.test(cluster)) {
    throw new MigrationError(
      `invalid cluster name "${cluster}": expected letters, digits, _, . and - only`,
    );
  }
  return cluster;
}

/**
 * Fills the placeholders: single-node (no cluster) leaves plain engines and local DDL; cluster
 * mode runs DDL ON CLUSTER and prefixes engines with Replicated (which then use the server's
 * default_replica_path, so migrations carry no ZooKeeper paths).
 */
export function fillPlaceholders(sql: string, cluster: string | undefined): string {
  const onCluster = cluster === undefined ? '' : ` ON CLUSTER '${checkClusterName(cluster)}'`;
  return sql
    .replaceAll('{{ON_CLUSTER}}', onCluster)
    .replaceAll('{{REPLICATED}}', cluster === undefined ? '' : 'Replicated');
}
