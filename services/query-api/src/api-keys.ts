import { agencyCode } from '@bluelight/schemas';
import { HashedKeys, keyHolderId, keySha256 } from '@bluelight/service-kit';
import { z } from 'zod';

/**
 * In a reader's `agencies`, alone: every agency, present and future (an administrator's key,
 * e.g. an inspectorate's or the deployment's own operators'). Never implied: it must be written.
 */
export const EVERY_AGENCY = '*';

/** The agencies a key may read: agency codes, or `["*"]` alone for every agency. */
export const readableAgencies = z
  .array(z.union([z.literal(EVERY_AGENCY), agencyCode]), {
    error: (issue) =>
      issue.input === undefined
        ? `required: the agencies this key may read, e.g. ["staffordshire-fire"] (["${EVERY_AGENCY}"] for every agency)`
        : 'expected a list of agency codes',
  })
  .min(1, `list at least one agency (["${EVERY_AGENCY}"] for every agency)`)
  .superRefine((agencies, context) => {
    if (agencies.includes(EVERY_AGENCY) && agencies.length > 1) {
      context.addIssue({
        code: 'custom',
        message: `"${EVERY_AGENCY}" (every agency) stands alone; list agencies or give ["${EVERY_AGENCY}"]`,
      });
    }
    const repeated = agencies.filter((agency, index) => agencies.indexOf(agency) !== index);
    if (repeated.length > 0) {
      context.addIssue({
        code: 'custom',
        message: `agency "${repeated[0]}" appears more than once`,
      });
    }
  });

/** One reader of the query API (a team, a dashboard): the SHA-256 of its key and what it may read. */
export const readerEntry = z.strictObject({
  id: keyHolderId,
  key_sha256: keySha256,
  agencies: readableAgencies,
});

export type ReaderEntry = z.infer<typeof readerEntry>;

export const readerList = z.array(readerEntry);

/** A reader whose key was presented and recognised. */
export interface Reader {
  id: string;
  /** The agencies it may read, sorted; or every agency. */
  agencies: readonly string[] | typeof EVERY_AGENCY;
}

/** The readers' keys, as hashes: a presented key is hashed and compared with each in constant time. */
export class ReadKeys extends HashedKeys<Reader> {
  constructor(entries: ReaderEntry[]) {
    super(
      entries.map((entry) => ({
        holder: {
          id: entry.id,
          agencies: entry.agencies.includes(EVERY_AGENCY)
            ? EVERY_AGENCY
            : [...entry.agencies].sort(),
        },
        keySha256: entry.key_sha256,
      })),
    );
  }
}

/** What a reader's request for agencies comes to: the agencies to read, or why not. */
export type AgencyDecision =
  | { outcome: 'read'; agencies: string[] }
  /** No agency asked for, and the key reads more than one: the request must say which (400). */
  | { outcome: 'unspecified'; message: string }
  /** Agencies the key may not read (403): decided from the key alone, never from the data. */
  | { outcome: 'forbidden'; agencies: string[]; message: string };

const quoted = (agencies: readonly string[]) => agencies.map((agency) => `"${agency}"`).join(', ');

/**
 * The agencies a request reads. Asked for: each must be one the key may read. Not asked for: a
 * key of exactly one agency reads it; a key of several (or of every agency) must say which, so
 * two services' figures are never added up without being asked for.
 */
export function decideAgencies(
  reader: Reader,
  requested: readonly string[] | undefined,
): AgencyDecision {
  const readable = reader.agencies;
  if (requested === undefined || requested.length === 0) {
    if (readable !== EVERY_AGENCY && readable.length === 1) {
      return { outcome: 'read', agencies: [...readable] };
    }
    return {
      outcome: 'unspecified',
      message:
        readable === EVERY_AGENCY
          ? 'say which agency to read (one or several: agency=a or agency=a,b); this key may read every agency'
          : `say which agency to read (one or several: agency=a or agency=a,b); this key reads ${readable.join(', ')}`,
    };
  }
  const agencies = [...new Set(requested)].sort();
  if (readable === EVERY_AGENCY) return { outcome: 'read', agencies };
  const forbidden = agencies.filter((agency) => !readable.includes(agency));
  if (forbidden.length > 0) {
    return {
      outcome: 'forbidden',
      agencies: forbidden,
      message: `the key "${reader.id}" may not read ${forbidden.length === 1 ? 'agency' : 'agencies'} ${quoted(forbidden)}; it reads ${readable.join(', ')}`,
    };
  }
  return { outcome: 'read', agencies };
}
