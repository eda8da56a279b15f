import * as z from 'zod';
import { absentWhenNull, isRecord, Properties, requireIdentity } from './common.js';
import { messageFields } from './message-fields.js';
import { isSpecEventName, SPEC_EVENTS } from './spec-events.js';

/**
 * Applies the strict properties schema of a spec event (`Order Completed`, …) to the
 * `properties` of a track event with that name; problems are reported under `properties`.
 */
const specEventProperties = z.superRefine<Record<string, unknown>>(
  (value, ctx) => {
    const event = value['event'];
    if (!isSpecEventName(event)) return;
    const properties = value['properties'];
    // A non-object `properties` is already reported by the track schema itself.
    if (properties !== undefined && !isRecord(properties)) return;
    const result = SPEC_EVENTS[event].safeParse(properties ?? {}, { reportInput: true });
    if (result.success) return;
    for (const issue of result.error.issues) {
      ctx.addIssue({ ...issue, path: ['properties', ...issue.path] } as z.core.$ZodRawIssue);
    }
  },
  { when: (payload) => isRecord(payload.value) },
);

/**
 * A track call: something a user did. `event` names it; spec event names
 * (see `SPEC_EVENTS`) also have their `properties` checked by a strict schema.
 *
 * @example
 * TrackEvent.parse({
 *   type: 'track',
 *   messageId: 'ajs-next-1714564800000-0b3c',
 *   anonymousId: '5f6b1c1e-6b8a-4c59-9d1a-0c2b0f7f4a11',
 *   event: 'Order Completed',
 *   properties: { order_id: 'o-1', revenue: 25, currency: 'USD' },
 *   timestamp: '2024-05-01T12:00:00.000Z',
 * });
 */
export const TrackEvent = z
  .looseObject({
    type: z.literal('track'),
    ...messageFields,
    event: z.string().min(1),
    properties: absentWhenNull(Properties),
  })
  .check(requireIdentity, specEventProperties)
  .meta({ title: 'TrackEvent', description: 'A track call: an action a user performed.' });
export type TrackEvent = z.infer<typeof TrackEvent>;
