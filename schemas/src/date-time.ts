import * as z from 'zod';

const DATE_TIME_ERROR = 'expected an ISO-8601 date-time such as "2024-05-01T12:00:00.000Z"';

/*
 * RFC 3339 §5.6 date-time: `T` (or `t`, or the space the RFC allows "for readability") between
 * date and time, seconds 00–60 (a leap second), a fraction of any length, and `Z` (`z`) or an
 * offset. The offset forms without a colon (`+0200`, `+02`) are ISO 8601's basic forms, which
 * some SDKs send. The day of the month is checked in code (JSON Schema cannot).
 */
const DATE_TIME_PATTERN =
  /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(\.\d+)?(?:[Zz]|([+-])([01]\d|2[0-3])(?::?([0-5]\d))?)$/;

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const EARLIEST = Date.parse('0001-01-01T00:00:00Z');
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * A date-time in any form RFC 3339 allows, read as the UTC instant it names and written back
 * in one form: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the fraction kept digit for digit. A leap
 * second (`23:59:60`) reads as the first second of the next minute, as Postgres reads it.
 * Returns a reason instead when the date does not exist (`2024-02-30`) or the instant lies
 * outside the years 0001–9999, which Postgres cannot store in ISO form.
 *
 * @example
 * normalizeDateTime('2024-05-01t14:00:00.123456+02:00'); // { value: '2024-05-01T12:00:00.123456Z' }
 * normalizeDateTime('2024-02-30T00:00:00Z'); // { problem: '… February 2024 has 29 days' }
 */
export function normalizeDateTime(text: string): { value: string } | { problem: string } {
  const match = DATE_TIME_PATTERN.exec(text);
  if (!match) return { problem: DATE_TIME_ERROR };
  const [, year, month, day, hour, minute, second, fraction = '', sign, offsetHours = '0', offsetMinutes = '0'] = match;
  const days = daysInMonth(Number(year), Number(month));
  if (Number(day) > days) {
    return { problem: `is not a real date: ${MONTHS[Number(month) - 1]} ${year} has ${days} days` };
  }
  const offsetMs = sign ? (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000 : 0;
  // Date.UTC reads years 0–99 as 1900–1999; setUTCFullYear does not. Second 60 rolls over.
  const local = new Date(0);
  local.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  local.setUTCHours(Number(hour), Number(minute), Number(second), 0);
  const instant = local.getTime() - offsetMs;
  const milliseconds = fraction === '' ? 0 : Number(fraction.slice(1, 4).padEnd(3, '0'));
  if (instant + milliseconds < EARLIEST || instant + milliseconds > LATEST) return { problem: 'lies outside the years 0001–9999' };
  return { value: `${new Date(instant).toISOString().slice(0, 19)}${fraction}Z` };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * A date-time as RFC 3339 allows it (and the colon-less offsets some SDKs send), normalised
 * to UTC: `2024-05-01t14:00:00.5+02:00` parses as `2024-05-01T12:00:00.5Z`.
 *
 * @example
 * IsoDateTime.parse('2024-05-01T12:00:00.000Z'); // '2024-05-01T12:00:00.000Z'
 * IsoDateTime.parse('2024-05-01 14:00:00.123456+02:00'); // '2024-05-01T12:00:00.123456Z'
 */
export const IsoDateTime = z
  .string()
  .regex(DATE_TIME_PATTERN, { error: DATE_TIME_ERROR })
  .transform((text, ctx) => {
    const result = normalizeDateTime(text);
    if ('value' in result) return result.value;
    ctx.issues.push({ code: 'custom', message: `${JSON.stringify(text)} ${result.problem}`, input: text });
    return z.NEVER;
  })
  .meta({ description: 'RFC 3339 date-time with Z or an offset, e.g. 2024-05-01T12:00:00.000Z; stored in UTC' });
export type IsoDateTime = z.infer<typeof IsoDateTime>;
