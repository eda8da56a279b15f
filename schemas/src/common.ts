import * as z from 'zod';
import { Identifier } from './identifier.js';
import { CONSENT_UPDATED_EVENT } from './consent.js';

/**
 * An optional identifier (`anonymousId`, `userId`). `null`, which several server SDKs
 * send for an absent id, reads as absent; a number reads as its decimal string.
 *
 * @example
 * OptionalIdentifier.parse(null); // undefined
 * OptionalIdentifier.parse(42); // '42'
 */
export const OptionalIdentifier = absentWhenNull(Identifier);

/**
 * Makes a field optional and reads `null` as absent: Segment's Ruby and Python
 * libraries send `"integrations": null`, analytics.js sends `"userId": null`.
 *
 * @example
 * const Traits = absentWhenNull(Properties);
 * Traits.parse(null); // undefined
 */
export function absentWhenNull<T extends z.ZodType>(schema: T) {
  // The outer optional keeps the key optional in the inferred type.
  return schema
    .nullable()
    .transform((value): z.output<T> | undefined => value ?? undefined)
    .optional();
}

/**
 * Per-destination switches (`{ All: false, Mixpanel: true }`); kept as sent.
 *
 * @example
 * Integrations.parse({ All: true });
 */
export const Integrations = z.record(z.string(), z.unknown());
export type Integrations = z.infer<typeof Integrations>;

/**
 * A free-form object of event properties or traits.
 *
 * @example
 * Properties.parse({ plan: 'pro' });
 */
export const Properties = z.record(z.string(), z.unknown());
export type Properties = z.infer<typeof Properties>;

/**
 * The message id: required, a non-empty string, unique per source (a retried message
 * carries the same id and is stored once).
 *
 * @example
 * MessageId.parse('ajs-next-1714564800000-0b3c');
 */
export const MessageId = z.string().min(1);

/**
 * A whole number. Unlike `z.int()`, a fraction is reported without stopping the checks
 * of the enclosing object, so every problem of a message is listed at once.
 *
 * @example
 * Integer.positive().parse(2);
 */
export const Integer = z
  .number()
  .check(
    z.superRefine<number>((value, ctx) => {
      if (!Number.isInteger(value)) {
        ctx.addIssue({ code: 'invalid_type', expected: 'int', input: value, message: 'expected an integer' });
      }
    }),
  )
  .meta({ type: 'integer' });

/** True for a plain (non-array) object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** A consent change (`Consent Updated` track), the one message that may name no one. */
export function isConsentChange(value: Record<string, unknown>): boolean {
  return value['type'] === 'track' && value['event'] === CONSENT_UPDATED_EVENT;
}

/**
 * Refinement shared by every message but alias: it needs an `anonymousId` or a `userId`,
 * except a consent change (a deny is sent without any identifier). Runs even when other
 * fields are wrong, so all problems are reported at once.
 */
export const requireIdentity = z.superRefine<Record<string, unknown>>(
  (value, ctx) => {
    if (isAbsent(value['anonymousId']) && isAbsent(value['userId']) && !isConsentChange(value)) {
      ctx.addIssue({ code: 'custom', message: 'needs an anonymousId or a userId (a non-empty string); neither was sent', path: [] });
    }
  },
  { when: (payload) => isRecord(payload.value) },
);
