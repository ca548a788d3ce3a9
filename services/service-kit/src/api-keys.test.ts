import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HashedKeys, keySha256, presentedKey, sha256Hex } from './api-keys.js';
import { ConfigError, envField, loadConfig } from './config.js';

describe('HashedKeys', () => {
  const keys = new HashedKeys([
    { holder: 'alice', keySha256: sha256Hex('key-a') },
    // The hash as a keys file might give it, upper-case.
    { holder: 'bob', keySha256: keySha256.parse(sha256Hex('key-b').toUpperCase()) },
  ]);

  it('tells who holds a key, by its hash only', () => {
    expect(keys.size).toBe(2);
    expect(keys.identify('key-a')).toBe('alice');
    expect(keys.identify('key-b')).toBe('bob');
    expect(keys.identify('key-c')).toBeUndefined();
    expect(keys.identify(sha256Hex('key-a'))).toBeUndefined();
    expect(keys.identify('')).toBeUndefined();
  });

  it('finds the key in Authorization: Bearer or X-API-Key', () => {
    expect(presentedKey({ authorization: 'Bearer k1' })).toBe('k1');
    expect(presentedKey({ 'x-api-key': ' k2 ' })).toBe('k2');
    expect(presentedKey({ authorization: 'Basic abc' })).toBeUndefined();
  });
});

describe('envField.json and envField.jsonFile', () => {
  const schema = z.object({
    INLINE: envField.json(z.array(z.object({ id: z.string() }))),
    FILE: envField.jsonFile(z.array(z.object({ id: z.string() }))),
  });
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(schema, env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it('reads inline JSON and a JSON file, and both are optional', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kit-json-'));
    try {
      const file = path.join(dir, 'list.json');
      writeFileSync(file, '[{"id":"from-file"}]');
      expect(loadConfig(schema, { INLINE: '[{"id":"inline"}]', FILE: file })).toEqual({
        INLINE: [{ id: 'inline' }],
        FILE: [{ id: 'from-file' }],
      });
      expect(loadConfig(schema, {})).toEqual({ INLINE: undefined, FILE: undefined });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the variable when the JSON is bad, the file is missing or an entry is wrong', () => {
    expect(problems({ INLINE: '[{' })[0]?.message).toMatch(/^the value is not JSON: /);
    expect(problems({ FILE: '/nonexistent/list.json' })[0]?.message).toMatch(
      /^cannot read \/nonexistent\/list.json: ENOENT/,
    );
    expect(problems({ INLINE: '[{"id":1}]' })[0]?.variable).toBe('INLINE.0.id');
  });
});
