import { sha256Hex } from '@bluelight/service-kit';
import { describe, expect, it } from 'vitest';
import { decideAgencies, EVERY_AGENCY, ReadKeys, readerEntry } from './api-keys.js';

const FIRE = 'staffordshire-fire';
const POLICE = 'staffordshire-police';
const NEIGHBOUR = 'cheshire-fire';

describe('ReadKeys', () => {
  const keys = new ReadKeys([
    { id: 'dashboards', key_sha256: sha256Hex('key-one'), agencies: [FIRE] },
    { id: 'analyst', key_sha256: sha256Hex('key-two'), agencies: [POLICE, FIRE] },
    { id: 'inspector', key_sha256: sha256Hex('key-three'), agencies: [EVERY_AGENCY] },
  ]);

  it('recognises each reader by its key, never by the hash or a near miss, with its agencies', () => {
    expect(keys.size).toBe(3);
    expect(keys.identify('key-one')).toEqual({ id: 'dashboards', agencies: [FIRE] });
    expect(keys.identify('key-two')).toEqual({ id: 'analyst', agencies: [FIRE, POLICE] });
    expect(keys.identify('key-three')).toEqual({ id: 'inspector', agencies: EVERY_AGENCY });
    expect(keys.identify('key-four')).toBeUndefined();
    expect(keys.identify(sha256Hex('key-one'))).toBeUndefined();
    expect(keys.identify('key-one ')).toBeUndefined();
  });

  it('stores hashes only: the SHA-256 of "abc" is the FIPS 180-2 vector', () => {
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const upper = readerEntry.parse({
      id: 'x',
      key_sha256: sha256Hex('abc').toUpperCase(),
      agencies: [FIRE],
    });
    expect(upper.key_sha256).toBe(sha256Hex('abc'));
    expect(new ReadKeys([upper]).identify('abc')).toEqual({ id: 'x', agencies: [FIRE] });
  });

  it('refuses an entry with a bad hash, a bad id or an extra field', () => {
    const entry = { id: 'x', key_sha256: sha256Hex('k'), agencies: [FIRE] };
    expect(readerEntry.safeParse({ ...entry, key_sha256: 'abc' }).error?.issues[0]?.message).toBe(
      'must be the hex SHA-256 of the key (64 hex digits)',
    );
    expect(readerEntry.safeParse({ ...entry, id: 'a b' }).success).toBe(false);
    expect(readerEntry.safeParse({ ...entry, key: 'k' }).success).toBe(false);
  });

  it('refuses an entry without agencies, or with agencies that cannot be, saying why', () => {
    const entry = { id: 'x', key_sha256: sha256Hex('k') };
    const issue = (agencies: unknown) => {
      const result = readerEntry.safeParse(agencies === undefined ? entry : { ...entry, agencies });
      return result.error?.issues.map((found) => [found.path.join('.'), found.message]);
    };
    expect(issue(undefined)).toEqual([
      [
        'agencies',
        'required: the agencies this key may read, e.g. ["staffordshire-fire"] (["*"] for every agency)',
      ],
    ]);
    expect(issue([])).toEqual([['agencies', 'list at least one agency (["*"] for every agency)']]);
    expect(issue(FIRE)).toEqual([['agencies', 'expected a list of agency codes']]);
    expect(issue(['*', FIRE])).toEqual([
      ['agencies', '"*" (every agency) stands alone; list agencies or give ["*"]'],
    ]);
    expect(issue([FIRE, FIRE])).toEqual([
      ['agencies', 'agency "staffordshire-fire" appears more than once'],
    ]);
    expect(issue(['Staffordshire Fire'])?.[0]?.[0]).toBe('agencies.0');
    // A wildcard is only ever the explicit "*": no pattern, no empty list meaning "all".
    expect(issue(['staffordshire-*'])?.[0]?.[0]).toBe('agencies.0');
  });
});

describe('decideAgencies', () => {
  const one = { id: 'dashboards', agencies: [FIRE] };
  const two = { id: 'analyst', agencies: [FIRE, POLICE] };
  const every = { id: 'inspector', agencies: EVERY_AGENCY } as const;

  it('reads the one agency of a key of one when none is asked for', () => {
    expect(decideAgencies(one, undefined)).toEqual({ outcome: 'read', agencies: [FIRE] });
  });

  it('makes a key of several, or of every agency, say which', () => {
    expect(decideAgencies(two, undefined)).toEqual({
      outcome: 'unspecified',
      message:
        'say which agency to read (one or several: agency=a or agency=a,b); this key reads staffordshire-fire, staffordshire-police',
    });
    expect(decideAgencies(every, undefined).outcome).toBe('unspecified');
  });

  it('reads the agencies asked for, apart or together, sorted and once each', () => {
    expect(decideAgencies(two, [POLICE])).toEqual({ outcome: 'read', agencies: [POLICE] });
    expect(decideAgencies(two, [POLICE, FIRE, POLICE])).toEqual({
      outcome: 'read',
      agencies: [FIRE, POLICE],
    });
    expect(decideAgencies(every, [NEIGHBOUR, FIRE])).toEqual({
      outcome: 'read',
      agencies: [NEIGHBOUR, FIRE],
    });
  });

  it('refuses every agency the key may not read, naming each, whatever the data holds', () => {
    expect(decideAgencies(one, [NEIGHBOUR])).toEqual({
      outcome: 'forbidden',
      agencies: [NEIGHBOUR],
      message:
        'the key "dashboards" may not read agency "cheshire-fire"; it reads staffordshire-fire',
    });
    expect(decideAgencies(one, [FIRE, NEIGHBOUR, 'nowhere-police'])).toEqual({
      outcome: 'forbidden',
      agencies: [NEIGHBOUR, 'nowhere-police'],
      message:
        'the key "dashboards" may not read agencies "cheshire-fire", "nowhere-police"; it reads staffordshire-fire',
    });
  });
});
