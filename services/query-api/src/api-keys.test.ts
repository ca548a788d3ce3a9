import { sha256Hex } from '@bluelight/service-kit';
import { describe, expect, it } from 'vitest';
import { ReadKeys, readerEntry } from './api-keys.js';

describe('ReadKeys', () => {
  const keys = new ReadKeys([
    { id: 'dashboards', key_sha256: sha256Hex('key-one') },
    { id: 'analyst', key_sha256: sha256Hex('key-two') },
  ]);

  it('recognises each reader by its key, never by the hash or a near miss', () => {
    expect(keys.size).toBe(2);
    expect(keys.identify('key-one')).toEqual({ id: 'dashboards' });
    expect(keys.identify('key-two')).toEqual({ id: 'analyst' });
    expect(keys.identify('key-three')).toBeUndefined();
    expect(keys.identify(sha256Hex('key-one'))).toBeUndefined();
    expect(keys.identify('key-one ')).toBeUndefined();
  });

  it('stores hashes only: the SHA-256 of "abc" is the FIPS 180-2 vector', () => {
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    const upper = readerEntry.parse({ id: 'x', key_sha256: sha256Hex('abc').toUpperCase() });
    expect(upper.key_sha256).toBe(sha256Hex('abc'));
    expect(new ReadKeys([upper]).identify('abc')).toEqual({ id: 'x' });
  });

  it('refuses an entry with a bad hash, a bad id or an extra field', () => {
    expect(readerEntry.safeParse({ id: 'x', key_sha256: 'abc' }).error?.issues[0]?.message).toBe(
      'must be the hex SHA-256 of the key (64 hex digits)',
    );
    expect(readerEntry.safeParse({ id: 'a b', key_sha256: sha256Hex('k') }).success).toBe(false);
    expect(readerEntry.safeParse({ id: 'x', key_sha256: sha256Hex('k'), key: 'k' }).success).toBe(
      false,
    );
  });
});
