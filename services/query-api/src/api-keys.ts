import { HashedKeys, keyHolderId, keySha256 } from '@bluelight/service-kit';
import { z } from 'zod';

/** One reader of the query API (a team, a dashboard); only the SHA-256 of its key is stored. */
export const readerEntry = z.strictObject({
  id: keyHolderId,
  key_sha256: keySha256,
});

export type ReaderEntry = z.infer<typeof readerEntry>;

export const readerList = z.array(readerEntry);

/** A reader whose key was presented and recognised. */
export interface Reader {
  id: string;
}

/** The readers' keys, as hashes: a presented key is hashed and compared with each in constant time. */
export class ReadKeys extends HashedKeys<Reader> {
  constructor(entries: ReaderEntry[]) {
    super(entries.map((entry) => ({ holder: { id: entry.id }, keySha256: entry.key_sha256 })));
  }
}
