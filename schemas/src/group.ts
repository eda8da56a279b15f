import * as z from 'zod';
import { absentWhenNull, Properties, requireIdentity } from './common.js';
import { RequiredIdentifier } from './identifier.js';
import { messageFields } from './message-fields.js';

/**
 * A group call: the user belongs to a group (a company, a team, an account).
 * `groupId` is required (a number reads as its decimal string).
 *
 * @example
 * GroupEvent.parse({
 *   type: 'group',
 *   messageId: 'ajs-next-1714564800000-9c0d',
 *   userId: 'user-42',
 *   groupId: 'acme-inc',
 *   traits: { name: 'Acme Inc', employees: 120 },
 * });
 */
export const GroupEvent = z
  .looseObject({
    type: z.literal('group'),
    ...messageFields,
    groupId: RequiredIdentifier,
    traits: absentWhenNull(Properties),
  })
  .check(requireIdentity)
  .meta({ title: 'GroupEvent', description: 'A group call: ties a user to a group.' });
export type GroupEvent = z.infer<typeof GroupEvent>;
