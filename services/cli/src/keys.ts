import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The entry the ingest gateway stores for one producer: its key's hash and what it may write. */
export interface GatewayKeyEntry {
  id: string;
  key_sha256: string;
  agencies: string[];
  sources: string[];
}

/** The entry the query API stores for one reader: its key's hash. */
export interface QueryKeyEntry {
  id: string;
  key_sha256: string;
}

const sha256 = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

/** 256 random bits; the prefix says which service a leaked key belongs to. */
const randomKey = (prefix: 'blk' | 'bqk') => `${prefix}_${randomBytes(32).toString('base64url')}`;

export function newGatewayKey(producer: Omit<GatewayKeyEntry, 'key_sha256'>): {
  key: string;
  entry: GatewayKeyEntry;
} {
  const key = randomKey('blk');
  const { id, agencies, sources } = producer;
  return { key, entry: { id, key_sha256: sha256(key), agencies, sources } };
}

export function newQueryKey(id: string): { key: string; entry: QueryKeyEntry } {
  const key = randomKey('bqk');
  return { key, entry: { id, key_sha256: sha256(key) } };
}

/** Where the main job keeps the keys it made for this machine, and what the services read. */
export interface LocalKeys {
  /** The gateway's keys file (hashes), for GATEWAY_API_KEYS_FILE. */
  gatewayKeysFile: string;
  /** The local producer's key itself, readable only by this user. */
  gatewayKeyFile: string;
  /** The query API's keys file (hashes), for QUERY_API_KEYS_FILE. */
  queryKeysFile: string;
  /** The local reader's key itself, readable only by this user. */
  queryKeyFile: string;
  /** True when this call made the keys; false when it found them from an earlier run. */
  created: boolean;
}

/**
 * Keys for running Bluelight on one machine, so the gateway and the query API answer out of the
 * box: one producer key that may write for `agencies` from `sources`, and one read key. They are
 * made once and reused, so a second run keeps working with the keys a user has already copied.
 */
export async function ensureLocalKeys(
  dir: string,
  producer: { agencies: string[]; sources: string[] },
): Promise<LocalKeys> {
  const files = {
    gatewayKeysFile: path.join(dir, 'gateway-keys.json'),
    gatewayKeyFile: path.join(dir, 'gateway.key'),
    queryKeysFile: path.join(dir, 'query-api-keys.json'),
    queryKeyFile: path.join(dir, 'query-api.key'),
  };
  const complete = await keysMatch(files.gatewayKeyFile, files.gatewayKeysFile).then(
    async (gateway) => gateway && (await keysMatch(files.queryKeyFile, files.queryKeysFile)),
  );
  if (complete) return { ...files, created: false };

  await mkdir(dir, { recursive: true, mode: 0o700 });
  const gateway = newGatewayKey({ id: 'local-producer', ...producer });
  const reader = newQueryKey('local-reader');
  await writeSecret(files.gatewayKeyFile, `${gateway.key}\n`);
  await writeSecret(files.queryKeyFile, `${reader.key}\n`);
  await writeSecret(files.gatewayKeysFile, `${JSON.stringify([gateway.entry], null, 2)}\n`);
  await writeSecret(files.queryKeysFile, `${JSON.stringify([reader.entry], null, 2)}\n`);
  return { ...files, created: true };
}

/** True when both files exist and the keys file lists the hash of the key in the key file. */
async function keysMatch(keyFile: string, keysFile: string): Promise<boolean> {
  if (!existsSync(keyFile) || !existsSync(keysFile)) return false;
  try {
    const key = (await readFile(keyFile, 'utf8')).trim();
    const entries = JSON.parse(await readFile(keysFile, 'utf8')) as unknown;
    return (
      Array.isArray(entries) &&
      entries.some(
        (entry) =>
          typeof entry === 'object' &&
          entry !== null &&
          (entry as { key_sha256?: unknown }).key_sha256 === sha256(key),
      )
    );
  } catch {
    // A damaged file (half-written, edited by hand) is replaced rather than trusted.
    return false;
  }
}

async function writeSecret(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  // writeFile's mode applies only to a new file; an existing one keeps its old mode.
  await chmod(file, 0o600);
}
