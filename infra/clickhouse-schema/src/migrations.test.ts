import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fillPlaceholders,
  loadMigrations,
  MigrationError,
  migrationChecksum,
  parseMigration,
  sequenceProblems,
} from './index.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const CALLS = `-- Calls as answered: one row per call.
-- Written for the parser tests.

-- migrate:up
CREATE TABLE IF NOT EXISTS calls {{ON_CLUSTER}}
(
    call_id String,
    -- the queue the call waited in
    queue LowCardinality(String),
    answered_at DateTime64(3, 'UTC')
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(answered_at)
ORDER BY call_id;

ALTER TABLE calls {{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS line LowCardinality(String) DEFAULT '999';
-- migrate:down
DROP TABLE IF EXISTS calls {{ON_CLUSTER}}
`;

describe('parseMigration', () => {
  it('splits sections into statements at a ; ending a line, dropping comment lines', () => {
    const migration = parseMigration('0003_calls.sql', CALLS);
    expect(migration).toEqual({
      version: 3,
      name: '0003_calls',
      fileName: '0003_calls.sql',
      checksum: sha256(CALLS),
      up: [
        {
          sql: `CREATE TABLE IF NOT EXISTS calls {{ON_CLUSTER}}
(
    call_id String,
    queue LowCardinality(String),
    answered_at DateTime64(3, 'UTC')
)
ENGINE = {{REPLICATED}}ReplacingMergeTree(answered_at)
ORDER BY call_id`,
          line: 5,
        },
        {
          sql: "ALTER TABLE calls {{ON_CLUSTER}} ADD COLUMN IF NOT EXISTS line LowCardinality(String) DEFAULT '999'",
          line: 15,
        },
      ],
      // The last statement of a section may leave out its ;
      down: [{ sql: 'DROP TABLE IF EXISTS calls {{ON_CLUSTER}}', line: 17 }],
      irreversible: false,
    });
  });

  it('accepts an irreversible migration with an empty down section', () => {
    const migration = parseMigration(
      '0004_backfill.sql',
      "-- migrate:up\nINSERT INTO calls (call_id) VALUES ('C-1');\n\n-- migrate:down irreversible\n-- the old rows are gone\n",
    );
    expect(migration.irreversible).toBe(true);
    expect(migration.up).toEqual([{ sql: "INSERT INTO calls (call_id) VALUES ('C-1')", line: 2 }]);
    expect(migration.down).toEqual([]);
  });

  it('keeps a ; inside a line within the statement', () => {
    const migration = parseMigration(
      '0001_x.sql',
      "-- migrate:up\nSELECT 'a;b',\n  1;\n-- migrate:down\nSELECT 2;\n",
    );
    expect(migration.up).toEqual([{ sql: "SELECT 'a;b',\n  1", line: 2 }]);
  });

  it.each([
    [
      'no up marker',
      'CREATE TABLE t (x UInt8) ENGINE = Memory;\n',
      'line 1: SQL before the `-- migrate:up` line',
    ],
    ['only comments', '-- nothing here\n', 'line 1: no `-- migrate:up` line'],
    [
      'no down section',
      '-- migrate:up\nSELECT 1;\n',
      'line 2: no `-- migrate:down` section: write one, or `-- migrate:down irreversible` if the migration cannot be undone',
    ],
    [
      'an empty down section',
      '-- migrate:up\nSELECT 1;\n-- migrate:down\n-- (nothing)\n',
      'line 3: the down section is empty: write the statements that undo the up section, or mark it `-- migrate:down irreversible`',
    ],
    [
      'statements after irreversible',
      '-- migrate:up\nSELECT 1;\n-- migrate:down irreversible\nSELECT 2;\n',
      'line 4: the down section is marked irreversible, so it must not contain statements',
    ],
    [
      'an empty up section',
      '-- migrate:up\n-- todo\n-- migrate:down\nSELECT 2;\n',
      'line 1: the up section has no statements',
    ],
    [
      'down before up',
      '-- migrate:down\nSELECT 2;\n-- migrate:up\nSELECT 1;\n',
      'line 1: `-- migrate:down` comes before `-- migrate:up`',
    ],
    [
      'two up markers',
      '-- migrate:up\nSELECT 1;\n-- migrate:up\n',
      'line 3: a second `-- migrate:up` line',
    ],
    [
      'an unknown marker',
      '-- migrate:up\nSELECT 1;\n-- migrate:down reversible\n',
      'line 3: unknown marker "-- migrate:down reversible"; expected -- migrate:up, -- migrate:down or -- migrate:down irreversible',
    ],
    [
      'an unknown placeholder',
      '-- migrate:up\nCREATE TABLE t {{ON_CLUSTER}}\n(x UInt8) ENGINE = {{ENGINE}};\n-- migrate:down\nDROP TABLE t;\n',
      'line 3: unknown placeholder {{ENGINE}}; the placeholders are {{ON_CLUSTER}} and {{REPLICATED}}',
    ],
    [
      'a lone ;',
      '-- migrate:up\nSELECT 1;\n;\n-- migrate:down\nSELECT 2;\n',
      'line 3: an empty statement (a `;` on its own)',
    ],
  ])('rejects %s, naming the file and line', (_case, text, message) => {
    expect(() => parseMigration('0007_broken.sql', text)).toThrow(
      new MigrationError(`0007_broken.sql, ${message}`),
    );
  });

  it('rejects a file name that is not NNNN_snake_name.sql', () => {
    for (const fileName of ['7_calls.sql', '0007-calls.sql', '0007_Calls.sql', '0007_.sql']) {
      expect(() => parseMigration(fileName, '-- migrate:up\nSELECT 1;\n-- migrate:down\n')).toThrow(
        `${fileName}: expected NNNN_snake_name.sql: a 4-digit number, then lower-case words joined by _`,
      );
    }
  });
});

describe('checksums', () => {
  it('ignore line endings, trailing spaces, a byte-order mark and trailing blank lines', () => {
    const text = '-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n';
    expect(migrationChecksum(text)).toBe(sha256(text));
    expect(
      migrationChecksum(
        '\uFEFF-- migrate:up  \r\nSELECT 1;\t\r\n-- migrate:down\r\nSELECT 2;\r\n\r\n',
      ),
    ).toBe(sha256(text));
  });

  it('change with any other change, comments included', () => {
    const text = '-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n';
    expect(migrationChecksum(`-- why\n${text}`)).not.toBe(migrationChecksum(text));
    expect(migrationChecksum(text.replace('SELECT 1', 'SELECT  1'))).not.toBe(
      migrationChecksum(text),
    );
  });
});

describe('fillPlaceholders', () => {
  const sql =
    'CREATE TABLE IF NOT EXISTS calls {{ON_CLUSTER}} (call_id String) ENGINE = {{REPLICATED}}ReplacingMergeTree(v) ORDER BY call_id';

  it('leaves local DDL and plain engines on a single node', () => {
    expect(fillPlaceholders(sql, undefined)).toBe(
      'CREATE TABLE IF NOT EXISTS calls  (call_id String) ENGINE = ReplacingMergeTree(v) ORDER BY call_id',
    );
  });

  it('runs DDL on the cluster with Replicated engines in cluster mode', () => {
    expect(fillPlaceholders(sql, 'bluelight-prod.eu')).toBe(
      "CREATE TABLE IF NOT EXISTS calls  ON CLUSTER 'bluelight-prod.eu' (call_id String) ENGINE = ReplicatedReplacingMergeTree(v) ORDER BY call_id",
    );
  });

  it('refuses a cluster name that could break out of its quotes', () => {
    expect(() => fillPlaceholders(sql, "x' SETTINGS a=1 --")).toThrow(
      `invalid cluster name "x' SETTINGS a=1 --": expected letters, digits, _, . and - only`,
    );
  });
});

describe('sequenceProblems', () => {
  it('accepts numbers running from 0001 without gaps', () => {
    expect(sequenceProblems(['0001_a.sql', '0002_b.sql', '0003_c.sql'])).toEqual([]);
    expect(sequenceProblems([])).toEqual([]);
  });

  it('reports a gap, a duplicate, a bad name and 0000', () => {
    expect(sequenceProblems(['0001_a.sql', '0002_b.sql', '0005_e.sql'])).toEqual([
      'numbers must run from 0001 without gaps; missing: 0003, 0004',
    ]);
    expect(sequenceProblems(['0001_a.sql', '0002_b.sql', '0002_c.sql'])).toEqual([
      '0002 is used by 0002_b.sql and 0002_c.sql; each migration needs its own number',
    ]);
    expect(sequenceProblems(['0001_a.sql', '02_b.sql'])).toEqual([
      '02_b.sql: expected NNNN_snake_name.sql: a 4-digit number, then lower-case words joined by _',
    ]);
    expect(sequenceProblems(['0000_init.sql', '0001_a.sql'])).toEqual([
      '0000 is not allowed: numbers start at 0001',
    ]);
  });
});

describe('loadMigrations', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function folder(files: Record<string, string>): Promise<string> {
    dir = await mkdtemp(path.join(os.tmpdir(), 'bluelight-migrations-'));
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
    return dir;
  }

  it('loads the fixture migrations in version order', async () => {
    const fixtures = fileURLToPath(new URL('./__fixtures__/stations/', import.meta.url));
    const migrations = await loadMigrations(fixtures);
    expect(
      migrations.map(({ version, name, up, down }) => [version, name, up.length, down.length]),
    ).toEqual([
      [1, '0001_create_stations', 1, 1],
      [2, '0002_add_appliances', 2, 2],
    ]);
  });

  it('ignores files that are not .sql', async () => {
    const migrations = await loadMigrations(
      await folder({
        'README.md': '# notes',
        '0001_a.sql': '-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n',
      }),
    );
    expect(migrations.map((migration) => migration.name)).toEqual(['0001_a']);
  });

  it('lists every problem of the folder at once', async () => {
    const root = await folder({
      '0001_a.sql': '-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n',
      '0002_b.sql': '-- migrate:up\nSELECT 1;\n',
      '0004_d.sql': '-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 2;\n',
      'notes.sql': '-- scratch',
    });
    await expect(loadMigrations(root)).rejects.toThrow(
      new MigrationError(
        `the migrations in ${root} cannot be used:
  - notes.sql: expected NNNN_snake_name.sql: a 4-digit number, then lower-case words joined by _
  - numbers must run from 0001 without gaps; missing: 0003
  - 0002_b.sql, line 2: no \`-- migrate:down\` section: write one, or \`-- migrate:down irreversible\` if the migration cannot be undone`,
      ),
    );
  });

  it('says so when the folder does not exist', async () => {
    await expect(loadMigrations('/nonexistent/migrations')).rejects.toThrow(
      'there is no migrations directory at /nonexistent/migrations',
    );
  });
});

// The project's own migrations, rendered both ways: production runs them ON CLUSTER with
// Replicated engines, so a statement that forgets a placeholder would create a table on one
// replica only — caught here, before any cluster sees it.
describe("the project's migrations in cluster mode", async () => {
  const migrations = await loadMigrations();
  const statements = migrations.flatMap((migration) =>
    [...migration.up, ...migration.down].map((statement) => ({
      where: migration.fileName,
      sql: statement.sql,
    })),
  );
  const ddl = statements.filter(({ sql }) =>
    /^\s*(CREATE|ALTER|DROP|RENAME|TRUNCATE)\b/i.test(sql),
  );

  it('has DDL to check', () => {
    expect(ddl.length).toBeGreaterThan(10);
  });

  it('runs every DDL statement ON CLUSTER, and nothing on a single node', () => {
    for (const { where, sql } of ddl) {
      const clustered = fillPlaceholders(sql, 'bluelight');
      // The clause follows the object's name: CREATE TABLE [IF NOT EXISTS] name ON CLUSTER …;
      // a RENAME of several tables takes it after the last pair (RENAME TABLE a TO b, … ON CLUSTER).
      expect(clustered, `${where}: ${sql.slice(0, 80)}`).toMatch(
        /^\s*(?:(CREATE|ALTER|DROP|RENAME|TRUNCATE)\s+(OR\s+REPLACE\s+)?(TABLE|VIEW|MATERIALIZED\s+VIEW|DICTIONARY|DATABASE)\s+(IF\s+(NOT\s+)?EXISTS\s+)?[\w.`]+\s+ON CLUSTER 'bluelight'|RENAME\s+TABLE\s+[\w.`]+\s+TO\s+[\w.`]+(\s*,\s*[\w.`]+\s+TO\s+[\w.`]+)*\s+ON CLUSTER 'bluelight'\s*$)/i,
      );
      expect(fillPlaceholders(sql, undefined), where).not.toMatch(/ON CLUSTER|\{\{/);
    }
  });

  it('gives every table a Replicated engine in cluster mode and a plain one on a single node', () => {
    const engines = statements.filter(({ sql }) => /\bENGINE\s*=/i.test(sql));
    expect(engines.length).toBeGreaterThan(5);
    for (const { where, sql } of engines) {
      for (const [engine] of fillPlaceholders(sql, 'bluelight').matchAll(/ENGINE\s*=\s*\w+/gi)) {
        expect(engine, where).toMatch(/=\s*Replicated\w*MergeTree$/);
      }
      for (const [engine] of fillPlaceholders(sql, undefined).matchAll(/ENGINE\s*=\s*\w+/gi)) {
        expect(engine, where).not.toMatch(/Replicated/);
      }
    }
  });
});
