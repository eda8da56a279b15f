import * as z from 'zod';
import { absentWhenNull, Integrations, MessageId, OptionalIdentifier } from './common.js';
import { IsoDateTime } from './date-time.js';
import { Context } from './context.js';

/**
 * The fields every message shares. `anonymousId`/`userId` are strings or numbers read as
 * strings (at least one is required, except on alias); the timestamps are RFC 3339
 * date-times, normalised to UTC.
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
