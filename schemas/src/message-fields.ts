import * as z from 'zod';
import { absentWhenNull, Integrations, IsoDateTime, MessageId, OptionalIdentifier } from './common.js';
import { Context } from './context.js';

/**
 * The fields every message shares. `anonymousId`/`userId` are strings (at least one is
 * required, except on alias); the timestamps are ISO-8601 date-times.
 */
export const messageFields = {
  messageId: MessageId,
  anonymousId: OptionalIdentifier,
  userId: OptionalIdentifier,
  timestamp: IsoDateTime.optional(),
  sentAt: IsoDateTime.optional(),
  originalTimestamp: IsoDateTime.optional(),
  context: absentWhenNull(Context),
  integrations: absentWhenNull(Integrations),
};
