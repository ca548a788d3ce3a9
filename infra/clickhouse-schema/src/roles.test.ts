import { describe, expect, it } from 'vitest';
import { CLICKHOUSE_ROLES, roleStatements } from './roles.js';

describe('the ClickHouse roles', () => {
  it('create each role before granting it anything, for the database named only', () => {
    const statements = roleStatements('bluelight_prod');
    expect(statements.filter((statement) => statement.startsWith('CREATE ROLE'))).toEqual([
      'CREATE ROLE IF NOT EXISTS bluelight_migrator',
      'CREATE ROLE IF NOT EXISTS bluelight_sink',
      'CREATE ROLE IF NOT EXISTS bluelight_reader',
    ]);
    for (const grant of statements.filter((statement) => statement.startsWith('GRANT'))) {
      expect(grant).toMatch(/^GRANT [A-Z, ]+ ON bluelight_prod\.(\*|[a-z_]+) TO bluelight_[a-z]+$/);
      const role = grant.split(' TO ')[1];
      expect(statements.indexOf(`CREATE ROLE IF NOT EXISTS ${role}`)).toBeLessThan(
        statements.indexOf(grant),
      );
    }
  });

  it('let the readers only read, and the sink neither change the schema nor delete', () => {
    const grants = Object.fromEntries(
      CLICKHOUSE_ROLES.map((role) => [role.name, role.grants('db')]),
    );
    expect(grants.bluelight_reader).toEqual(['GRANT SELECT ON db.*']);
    const sinkPrivileges = new Set(
      (grants.bluelight_sink ?? []).flatMap((grant) =>
        grant
          .replace(/^GRANT /, '')
          .replace(/ ON .*$/, '')
          .split(', '),
      ),
    );
    expect([...sinkPrivileges].sort()).toEqual(['INSERT', 'SELECT', 'SHOW TABLES']);
    // Writes only where the sink writes: raw rows, dead letters, the views' targets, revisions.
    const sinkInserts = (grants.bluelight_sink ?? [])
      .filter((grant) => grant.includes('INSERT'))
      .map((grant) => grant.replace(/^.* ON db\./, ''));
    expect(sinkInserts.sort()).toEqual(
      [
        'appliance_fact_revisions',
        'appliance_facts',
        'call_fact_revisions',
        'call_facts',
        'calls_raw',
        'dead_letters',
        'fact_anchor_exceptions',
        'fact_entities',
        'incident_fact_revisions',
        'incident_facts',
        'incidents_raw',
        'resource_changes',
        'resource_registry',
        'resources_raw',
      ].sort(),
    );
  });

  it('refuse a database name that is not plain', () => {
    expect(() => roleStatements('bluelight; DROP TABLE x')).toThrow(
      '"bluelight; DROP TABLE x" is not a plain database name (letters, digits, _)',
    );
  });
});
