import * as z from 'zod';
import { OptionalIdentifier } from './common.js';
import { RequiredIdentifier } from './identifier.js';
import { messageFields } from './message-fields.js';

/**
 * An alias call: `previousId` (an earlier userId or anonymousId) and `userId` are the
 * same person. Both are required.
 *
 * @example
 * AliasEvent.parse({
 *   type: 'alias',
 *   messageId: 'ajs-next-1714564800000-4e5f',
 *   userId: 'user-42',
 *   previousId: 'legacy-7731',
 * });
 */
export const AliasEvent = z
  .looseObject({
    type: z.literal('alias'),
    ...messageFields,
    anonymousId: OptionalIdentifier,
    userId: RequiredIdentifier,
    previousId: RequiredIdentifier,
  })
  .meta({ title: 'AliasEvent', description: 'An alias call: merges previousId into userId.' });
export type AliasEvent = z.infer<typeof AliasEvent>;
