import * as z from 'zod';
import { absentWhenNull, Integrations } from './common.js';
import { IsoDateTime } from './date-time.js';
import { Context } from './context.js';
import { MAX_BATCH_EVENTS } from './limits.js';

/**
 * The body of `POST /v1/batch`. Only the envelope is checked here: each item of
 * `batch` is validated on its own with `parseMessage`, so one bad item does not fail
 * the others. A top-level `context` applies to every item.
 *
 * @example
 * Batch.parse({ batch: [{ type: 'track', event: 'Signed Up' }], sentAt: '2024-05-01T12:00:00.000Z' });
 */
export const Batch = z
  .looseObject({
    batch: z.array(z.unknown()).min(1).max(MAX_BATCH_EVENTS),
    sentAt: IsoDateTime.optional(),
    context: absentWhenNull(Context),
    writeKey: z.string().optional(),
    integrations: absentWhenNull(Integrations),
  })
  .meta({ title: 'Batch', description: 'A batch request: up to 2,500 messages sent together.' });
export type Batch = z.infer<typeof Batch>;
