import * as z from 'zod';
import { absentWhenNull, Properties, requireIdentity } from './common.js';
import { messageFields } from './message-fields.js';

/**
 * An identify call: who the user is, and their traits.
 *
 * @example
 * IdentifyEvent.parse({
 *   type: 'identify',
 *   messageId: 'ajs-next-1714564800000-77aa',
 *   anonymousId: '5f6b1c1e-6b8a-4c59-9d1a-0c2b0f7f4a11',
 *   userId: 'user-42',
 *   traits: { email: 'ada@example.com', plan: 'pro' },
 * });
 */
export const IdentifyEvent = z
  .looseObject({
    type: z.literal('identify'),
    ...messageFields,
    traits: absentWhenNull(Properties),
  })
  .check(requireIdentity)
  .meta({ title: 'IdentifyEvent', description: 'An identify call: ties a user to their id and traits.' });
export type IdentifyEvent = z.infer<typeof IdentifyEvent>;
