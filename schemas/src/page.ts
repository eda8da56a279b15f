import * as z from 'zod';
import { absentWhenNull, Properties, requireIdentity } from './common.js';
import { messageFields } from './message-fields.js';

/**
 * A page call: a user viewed a web page.
 *
 * @example
 * PageEvent.parse({
 *   type: 'page',
 *   messageId: 'ajs-next-1714564800000-1f2a',
 *   anonymousId: '5f6b1c1e-6b8a-4c59-9d1a-0c2b0f7f4a11',
 *   name: 'Pricing',
 *   properties: { path: '/pricing', url: 'https://example.com/pricing' },
 * });
 */
export const PageEvent = z
  .looseObject({
    type: z.literal('page'),
    ...messageFields,
    name: absentWhenNull(z.string()),
    category: absentWhenNull(z.string()),
    properties: absentWhenNull(Properties),
  })
  .check(requireIdentity)
  .meta({ title: 'PageEvent', description: 'A page call: a user viewed a web page.' });
export type PageEvent = z.infer<typeof PageEvent>;
