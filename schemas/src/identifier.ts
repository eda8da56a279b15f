import * as z from 'zod';

/**
 * The decimal string of a finite number, never in exponent form: `42` → `"42"`,
 * `1.5` → `"1.5"`, `1e-7` → `"0.0000001"`.
 *
 * @example
 * decimalString(42); // '42'
 */
export function decimalString(value: number): string {
  const shortest = String(value);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(shortest);
  if (!match) return shortest;
  const [, sign, first, rest = '', exponentText] = match;
  const digits = `${first}${rest}`;
  const point = 1 + Number(exponentText);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/*
 * analytics-ruby sends ids given as integers as JSON numbers (`user_id: 42`); they are read as
 * their decimal string. Past 2^53 a JSON number has already been rounded when it was parsed
 * (12345678901234567891 reads as 12345678901234567000), so the id is no longer the sender's:
 * such an id is refused rather than stored as, or merged with, someone else's.
 */
const NumericIdentifier = z.number().transform((value, ctx) => {
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
    ctx.issues.push({
      code: 'custom',
      message: `${decimalString(value)} is past 2^53, where a JSON number has already lost digits; send this id as a string`,
      input: value,
    });
    return z.NEVER;
  }
  return decimalString(value);
});

/**
 * An identifier (`userId`, `anonymousId`, `groupId`, `previousId`): a string, or a finite
 * number read as its decimal string (`42` → `"42"`); integers past 2^53 are refused.
 *
 * @example
 * Identifier.parse(42); // '42'
 */
export const Identifier = z
  .union([z.string(), NumericIdentifier])
  .meta({ description: 'A string; a number is read as its decimal string (integers up to 2^53)' });

/**
 * A required, non-empty identifier (`groupId`, `previousId`, alias `userId`).
 *
 * @example
 * RequiredIdentifier.parse(7); // '7'
 */
export const RequiredIdentifier = z
  .union([z.string().min(1), NumericIdentifier])
  .meta({ description: 'A non-empty string; a number is read as its decimal string (integers up to 2^53)' });
