import { z } from 'zod';
import { type PathPart, readableZodMessage } from './mapping-schema.js';

/**
 * Code tables: a cell's code → a value. A table is either a plain map of codes, or a matching
 * table with any of
 * - `exact:`  codes as in a plain table,
 * - `prefix:` code prefixes (`"F/": …` matches `F/DWELLING`),
 * - `regex:`  a list of `{ pattern, value, ignore_case }`, tried in order.
 * A code is looked up exactly first, then by the longest prefix it starts with, then by the first
 * pattern it matches: the most specific entry wins whatever order the file lists them in, and
 * only patterns — whose specificity cannot be compared — depend on their order.
 */
export interface CodeTable {
  /** The entry's value for this code; undefined when no entry matches. */
  match(code: string): { value: unknown } | undefined;
}

const MATCHING_KEYS = ['exact', 'prefix', 'regex'] as const;

const present = z.custom<unknown>((value) => value !== undefined && value !== null, {
  error: 'is required (the value for codes this entry matches)',
});

const matchingTableSchema = z.strictObject({
  exact: z.record(z.string(), z.unknown()).optional(),
  prefix: z
    .record(z.string(), z.unknown())
    .refine((prefixes) => !Object.hasOwn(prefixes, ''), {
      path: [''],
      message: 'an empty prefix matches every code: use the lookup’s default: instead',
    })
    .optional(),
  regex: z
    .array(
      z.strictObject({
        pattern: z.string().min(1),
        value: present,
        ignore_case: z.boolean().optional(),
      }),
    )
    .min(1)
    .optional(),
});

/** A table with prefix or regex entries: its keys are only exact, prefix and regex. */
function isMatchingTable(table: Record<string, unknown>): boolean {
  return Object.keys(table).some((key) => (MATCHING_KEYS as readonly string[]).includes(key));
}

function plainTable(table: Record<string, unknown>): CodeTable {
  return {
    match: (code) => (Object.hasOwn(table, code) ? { value: table[code] } : undefined),
  };
}

/**
 * Checks and compiles one table (`path` is where it is in the mapping, for problems): a bad
 * pattern or an unknown key beside exact/prefix/regex is a problem naming the entry; then
 * undefined is returned.
 */
export function compileCodeTable(
  table: Record<string, unknown>,
  path: readonly PathPart[],
  problem: (path: readonly PathPart[], message: string) => void,
): CodeTable | undefined {
  if (!isMatchingTable(table)) return plainTable(table);
  const others = Object.keys(table).filter(
    (key) => !(MATCHING_KEYS as readonly string[]).includes(key),
  );
  for (const key of others) {
    problem(
      [...path, key],
      'is not exact, prefix or regex: a table with prefix or regex entries lists its plain codes under exact:',
    );
  }
  if (others.length > 0) return undefined;
  const parsed = matchingTableSchema.safeParse(table);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      problem([...path, ...(issue.path as PathPart[])], readableZodMessage(issue.message));
    }
    return undefined;
  }
  const { exact = {}, prefix = {}, regex = [] } = parsed.data;
  let valid = true;
  const patterns = regex.flatMap((entry, index) => {
    try {
      return [
        { test: new RegExp(entry.pattern, entry.ignore_case ? 'iu' : 'u'), value: entry.value },
      ];
    } catch (error) {
      problem(
        [...path, 'regex', index, 'pattern'],
        `is not a valid regular expression: ${(error as Error).message}`,
      );
      valid = false;
      return [];
    }
  });
  if (!valid) return undefined;
  // Longest first, so F/DWELL beats F/ however the file orders them.
  const prefixes = Object.entries(prefix).sort(([a], [b]) => b.length - a.length);
  const exactly = plainTable(exact);
  return {
    match: (code) => {
      const found = exactly.match(code);
      if (found) return found;
      const byPrefix = prefixes.find(([start]) => code.startsWith(start));
      if (byPrefix) return { value: byPrefix[1] };
      const byPattern = patterns.find((entry) => entry.test.test(code));
      return byPattern ? { value: byPattern.value } : undefined;
    },
  };
}
