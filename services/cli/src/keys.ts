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

/** The entry the query API stores for one reader: its key's hash and the agencies it may read. */
export interface QueryKeyEntry {
  id: string;
  key_sha256: string;
  /** Agency codes, or `["*"]` for every agency. */
  agencies: string[];
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

export function newQueryKey(reader: Omit<QueryKeyEntry, 'key_sha256'>): {
  key: string;
  entry: QueryKeyEntry;
} {
  const key = randomKey('bqk');
  const { id, agencies } = reader;
  return { key, entry: { id, key_sha256: sha256(key), agencies } };
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
  /** True when this call made a key; false when both were kept from an earlier run. */
  created: boolean;
}

/**
 * Keys for running Bluelight on one machine, so the gateway and the query API answer out of the
 * box: one producer key that may write for `producer.agencies` from `producer.sources`, and one
 * read key for `reader.agencies`. A key is made once and reused, so a second run keeps working
 * with the keys a user has already copied; the keys files (hashes and scopes) are written again
 * from the keys on every run, so a scope changed here (or a file damaged, or one from before read
 * keys had agencies) is brought up to date without a new key.
 */
export async function ensureLocalKeys(
  dir: string,
  producer: { agencies: string[]; sources: string[] },
  reader: { agencies: string[] },
): Promise<LocalKeys> {
  const files = {
    gatewayKeysFile: path.join(dir, 'gateway-keys.json'),
    gatewayKeyFile: path.join(dir, 'gateway.key'),
    queryKeysFile: path.join(dir, 'query-api-keys.json'),
    queryKeyFile: path.join(dir, 'query-api.key'),
  };
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const gateway = await keptKey(files.gatewayKeyFile, 'blk');
  const query = await keptKey(files.queryKeyFile, 'bqk');
  const gatewayEntry: GatewayKeyEntry = {
    id: 'local-producer',
    key_sha256: sha256(gateway.key),
    ...producer,
  };
  const queryEntry: QueryKeyEntry = {
    id: 'local-reader',
    key_sha256: sha256(query.key),
    agencies: reader.agencies,
  };
  await writeSecret(files.gatewayKeysFile, `${JSON.stringify([gatewayEntry], null, 2)}\n`);
  await writeSecret(files.queryKeysFile, `${JSON.stringify([queryEntry], null, 2)}\n`);
  return { ...files, created: gateway.created || query.created };
}

/** The key in `file` when it holds one of ours; otherwise a new one, written there. */
async function keptKey(
  file: string,
  prefix: 'blk' | 'bqk',
): Promise<{ key: string; created: boolean }> {
  if (existsSync(file)) {
    const kept = (await readFile(file, 'utf8')).trim();
    // A key edited by hand or half-written is replaced rather than trusted.
    if (new RegExp(`^${prefix}_[A-Za-z0-9_-]{43}$`).test(kept))
      return { key: kept, created: false };
  }
  const key = randomKey(prefix);
  await writeSecret(file, `${key}\n`);
  return { key, created: true };
}

async function writeSecret(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  // writeFile's mode applies only to a new file; an existing one keeps its old mode.
  await chmod(file, 0o600);
}
