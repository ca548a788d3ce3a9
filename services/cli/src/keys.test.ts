import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { senderKeyList } from '@bluelight/ingest-gateway';
import { readerList } from '@bluelight/query-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureLocalKeys } from './keys.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'bluelight-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const producer = { agencies: ['staffordshire-fire'], sources: ['sfrs-cad', 'sfrs-station-end'] };
const reader = { agencies: ['staffordshire-control', 'staffordshire-fire'] };
const hashOf = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');
const json = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as unknown;

describe('ensureLocalKeys', () => {
  it('makes a producer key and a read key whose entries the gateway and the query API accept', async () => {
    const keys = await ensureLocalKeys(path.join(dir, 'keys'), producer, reader);
    expect(keys.created).toBe(true);

    const gatewayKey = (await readFile(keys.gatewayKeyFile, 'utf8')).trim();
    const gatewayEntries = senderKeyList.parse(await json(keys.gatewayKeysFile));
    expect(gatewayEntries).toEqual([
      { id: 'local-producer', key_sha256: hashOf(gatewayKey), ...producer },
    ]);
    expect(gatewayKey).toMatch(/^blk_[A-Za-z0-9_-]{43}$/);

    const readKey = (await readFile(keys.queryKeyFile, 'utf8')).trim();
    expect(readerList.parse(await json(keys.queryKeysFile))).toEqual([
      { id: 'local-reader', key_sha256: hashOf(readKey), ...reader },
    ]);
    expect(readKey).toMatch(/^bqk_[A-Za-z0-9_-]{43}$/);
  });

  it('keeps the keys private to this user', async () => {
    const keys = await ensureLocalKeys(dir, producer, reader);
    for (const file of [keys.gatewayKeyFile, keys.queryKeyFile]) {
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    }
  });

  it('reuses the keys of an earlier run, so keys already handed out keep working', async () => {
    const first = await ensureLocalKeys(dir, producer, reader);
    const before = await readFile(first.gatewayKeyFile, 'utf8');
    const second = await ensureLocalKeys(dir, producer, reader);
    expect(second.created).toBe(false);
    expect(await readFile(second.gatewayKeyFile, 'utf8')).toBe(before);
  });

  it('brings a keys file from before read keys had agencies up to date, keeping the key', async () => {
    const first = await ensureLocalKeys(dir, producer, reader);
    const readKey = (await readFile(first.queryKeyFile, 'utf8')).trim();
    // As an earlier version wrote it: no agencies, which the query API now refuses at start-up.
    const old = [{ id: 'local-reader', key_sha256: hashOf(readKey) }];
    await writeFile(first.queryKeysFile, JSON.stringify(old));
    expect(readerList.safeParse(old).success).toBe(false);
    const second = await ensureLocalKeys(dir, producer, reader);
    expect(second.created).toBe(false);
    expect((await readFile(second.queryKeyFile, 'utf8')).trim()).toBe(readKey);
    expect(readerList.parse(await json(second.queryKeysFile))).toEqual([
      { id: 'local-reader', key_sha256: hashOf(readKey), ...reader },
    ]);
  });

  it('rewrites a damaged keys file from the key, and replaces a damaged key', async () => {
    const first = await ensureLocalKeys(dir, producer, reader);
    const readKey = (await readFile(first.queryKeyFile, 'utf8')).trim();
    await writeFile(first.queryKeysFile, '[{"id": "local-reader", "key_sha2');
    const second = await ensureLocalKeys(dir, producer, reader);
    expect(second.created).toBe(false);
    expect(readerList.parse(await json(second.queryKeysFile))).toEqual([
      { id: 'local-reader', key_sha256: hashOf(readKey), ...reader },
    ]);
    // The key itself edited: a new one, and the entry follows it.
    await writeFile(first.queryKeyFile, 'bqk_short\n');
    const third = await ensureLocalKeys(dir, producer, reader);
    expect(third.created).toBe(true);
    const newKey = (await readFile(third.queryKeyFile, 'utf8')).trim();
    expect(newKey).not.toBe(readKey);
    expect(newKey).toMatch(/^bqk_[A-Za-z0-9_-]{43}$/);
    expect(readerList.parse(await json(third.queryKeysFile))).toEqual([
      { id: 'local-reader', key_sha256: hashOf(newKey), ...reader },
    ]);
  });
});
