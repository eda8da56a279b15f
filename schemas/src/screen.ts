import * as z from 'zod';
import { absentWhenNull, Properties, requireIdentity } from './common.js';
import { messageFields } from './message-fields.js';

/**
 * A screen call: a user viewed a screen of a mobile app.
 *
 * @example
 * ScreenEvent.parse({
 *   type: 'screen',
 *   messageId: '7f1c2d3e-0000-4000-8000-000000000001',
 *   userId: 'user-42',
 *   name: 'Checkout',
 *   properties: { step: 2 },
 * });
 */
export const ScreenEvent = z
  .looseObject({
    type: z.literal('screen'),
    ...messageFields,
    name: absentWhenNull(z.string()),
    category: absentWhenNull(z.string()),
    properties: absentWhenNull(Properties),
  })
  .check(requireIdentity)
  .meta({ title: 'ScreenEvent', description: 'A screen call: a user viewed an app screen.' });
export type ScreenEvent = z.infer<typeof ScreenEvent>;
