// Values that buggy or careless senders put in anonymousId/userId instead of leaving it out.
// Linking on one of them glues every visitor who sent it into one "mega-customer", so they
// are treated as if the id were absent. Compared trimmed and lower-cased.
const PLACEHOLDERS = new Set([
  '',
  'anonymous',
  'anon',
  'guest',
  'null',
  'nil',
  'none',
  'undefined',
  'unknown',
  'nan',
  'n/a',
  'na',
  'true',
  'false',
  '0',
  '-1',
  '[object object]',
  '{}',
  '[]',
  '""',
  "''",
  'id',
  'user_id',
  'userid',
  'distinct_id',
  'distinctid',
  'anonymous_id',
  'anonymousid',
  'not_authenticated',
  '00000000-0000-0000-0000-000000000000',
]);

/**
 * True when an identifier is a placeholder that must never link anything (docs/design.md §3 rule 6).
 *
 * @example
 * isPlaceholderId('  Undefined ') // true
 * isPlaceholderId('user_8f3a')    // false
 */
export function isPlaceholderId(value: string | null | undefined): boolean {
  if (value === null || value === undefined) return true;
  return PLACEHOLDERS.has(value.trim().toLowerCase());
}

/**
 * The identifier as stitching uses it: null when absent or a placeholder, else unchanged.
 *
 * @example
 * usableId('guest') // null
 */
export function usableId(value: string | null | undefined): string | null {
  return isPlaceholderId(value) ? null : (value as string);
}
