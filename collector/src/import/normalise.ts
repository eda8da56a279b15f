import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

// How the matching rules compare values (docs/design.md §3 rule 9). Each function returns
// null for a value that gives no key. The database looks candidates up with coarser SQL
// expressions (see the migration 20261202T1000-customer-import); every candidate it finds is
// checked again here, so these functions alone decide what matches.

/**
 * An e-mail address as matched: trimmed and lower-cased, as `tally_normalise_email` does in
 * SQL. Nothing more: dots and `+tags` are part of the address at most providers, and stripping
 * them would merge different people.
 *
 * @example
 * normaliseEmail('  Ann.Lee@Example.COM ') // 'ann.lee@example.com'
 */
export function normaliseEmail(value: string): string | null {
  const email = value.trim().toLowerCase();
  return email === '' ? null : email;
}

/** True for something shaped like an e-mail address: one `@`, text before it, a dotted domain after. */
export function looksLikeEmail(email: string): boolean {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email);
}

/**
 * A phone number in E.164 (`+442079460958`), read with `libphonenumber-js`: spaces, dashes,
 * brackets and a `00` international prefix are understood; a number without a country code
 * is read as one of `defaultCountry`. Null when it cannot be a phone number there.
 *
 * @example
 * normalisePhone('(020) 7946 0958', 'GB') // '+442079460958'
 * normalisePhone('+44 20 7946 0958')      // '+442079460958'
 */
export function normalisePhone(value: string, defaultCountry?: CountryCode): string | null {
  const parsed = parsePhoneNumberFromString(value.trim(), defaultCountry === undefined ? undefined : { defaultCountry });
  return parsed !== undefined && parsed.isPossible() ? parsed.number : null;
}

/**
 * A person's name as matched: accents removed, lower-cased, every run of anything other than
 * letters and digits (spaces, hyphens, apostrophes, dots) one space, trimmed.
 *
 * @example
 * normaliseName("  Zoë  O'Brien-Smith ") // 'zoe o brien smith'
 */
export function normaliseName(value: string): string | null {
  const name = value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
  return name === '' ? null : name;
}

/**
 * A postcode as matched: upper-case without spaces.
 *
 * @example
 * normalisePostcode(' sw1a 1aa ') // 'SW1A1AA'
 */
export function normalisePostcode(value: string): string | null {
  const postcode = value.replace(/\s+/g, '').toUpperCase();
  return postcode === '' ? null : postcode;
}

/**
 * A birth date as `YYYY-MM-DD` from `YYYY-MM-DD` or `YYYY/MM/DD` (a time after it is
 * ignored). Day-first and month-first forms are refused: `03/04/1990` means different days
 * in different countries. Null for anything else or a day that does not exist.
 *
 * @example
 * normaliseBirthDate('1990-04-03')           // '1990-04-03'
 * normaliseBirthDate('1990-02-30')           // null
 */
export function normaliseBirthDate(value: string): string | null {
  const match = /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[T ].*)?$/.exec(value.trim());
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return null;
  return date.toISOString().slice(0, 10);
}
