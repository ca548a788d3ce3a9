import { describe, expect, it } from 'vitest';
import {
  ApiKeys,
  authorisationErrors,
  presentedKey,
  senderKeyEntry,
  sha256Hex,
} from './api-keys.js';

const entry = (id: string, key: string) => ({
  id,
  key_sha256: sha256Hex(key),
  agencies: ['staffordshire-fire'],
  sources: ['sfrs-cad'],
});

describe('sha256Hex', () => {
  it('is the hex SHA-256 of the key (FIPS 180-2 test vector "abc")', () => {
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('ApiKeys.identify', () => {
  const keys = new ApiKeys([entry('cad', 'key-one'), entry('station-end', 'key-two')]);

  it('recognises each sender by its key', () => {
    expect(keys.identify('key-one')?.id).toBe('cad');
    expect(keys.identify('key-two')?.id).toBe('station-end');
  });

  it('recognises no one for an unknown key, a hash, or a near miss', () => {
    expect(keys.identify('key-three')).toBeUndefined();
    expect(keys.identify(sha256Hex('key-one'))).toBeUndefined();
    expect(keys.identify('key-one ')).toBeUndefined();
    expect(keys.identify('')).toBeUndefined();
  });

  it('accepts upper-case hashes in the keys file', () => {
    const parsed = senderKeyEntry.parse({
      ...entry('cad', 'key-one'),
      key_sha256: sha256Hex('key-one').toUpperCase(),
    });
    expect(new ApiKeys([parsed]).identify('key-one')?.id).toBe('cad');
  });
});

describe('presentedKey', () => {
  it('takes the key from Authorization: Bearer, in any case of the scheme', () => {
    expect(presentedKey({ authorization: 'Bearer abc.123' })).toBe('abc.123');
    expect(presentedKey({ authorization: 'bearer   abc.123 ' })).toBe('abc.123');
  });

  it('takes the key from X-API-Key', () => {
    expect(presentedKey({ 'x-api-key': ' abc.123 ' })).toBe('abc.123');
    expect(presentedKey({ 'x-api-key': ['abc.123', 'other'] })).toBe('abc.123');
  });

  it('prefers a usable Authorization header over X-API-Key', () => {
    expect(presentedKey({ authorization: 'Bearer first', 'x-api-key': 'second' })).toBe('first');
    expect(presentedKey({ authorization: 'Basic dXNlcjpwdw==', 'x-api-key': 'second' })).toBe(
      'second',
    );
  });

  it('finds nothing in other schemes or empty values', () => {
    expect(presentedKey({})).toBeUndefined();
    expect(presentedKey({ authorization: 'Basic dXNlcjpwdw==' })).toBeUndefined();
    expect(presentedKey({ authorization: 'Bearer' })).toBeUndefined();
    expect(presentedKey({ authorization: 'Bearer a b' })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': '  ' })).toBeUndefined();
  });
});

describe('authorisationErrors', () => {
  const sender = new ApiKeys([entry('cad', 'k')]).identify('k');
  if (!sender) throw new Error('test key not recognised');

  it('allows the sender’s own agency and source', () => {
    expect(
      authorisationErrors(sender, { agency: 'staffordshire-fire', source: 'sfrs-cad' }),
    ).toEqual([]);
  });

  it('names agency and source when they are not the sender’s', () => {
    expect(
      authorisationErrors(sender, { agency: 'west-midlands-fire', source: 'wmfs-cad' }),
    ).toEqual([
      { path: 'agency', message: 'key "cad" may not write events for agency "west-midlands-fire"' },
      { path: 'source', message: 'key "cad" may not write events from source "wmfs-cad"' },
    ]);
  });
});
