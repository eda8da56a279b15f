import * as z from 'zod';
import { AliasEvent } from './alias.js';
import { GroupEvent } from './group.js';
import { IdentifyEvent } from './identify.js';
import { PageEvent } from './page.js';
import { ScreenEvent } from './screen.js';
import { TrackEvent } from './track.js';

/**
 * Any message, told apart by `type`.
 *
 * @example
 * const result = Message.safeParse(body);
 * if (result.success && result.data.type === 'track') console.log(result.data.event);
 */
export const Message = z
  .discriminatedUnion('type', [TrackEvent, PageEvent, ScreenEvent, IdentifyEvent, GroupEvent, AliasEvent])
  .meta({ title: 'Message', description: 'A track, page, screen, identify, group or alias message.' });
export type Message = z.infer<typeof Message>;

/**
 * The message types, in the order the wire format lists them.
 *
 * @example
 * MESSAGE_TYPES.includes('track'); // true
 */
export const MESSAGE_TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/**
 * The schema of each message type.
 *
 * @example
 * MESSAGE_SCHEMAS.track.safeParse(body);
 */
export const MESSAGE_SCHEMAS = {
  track: TrackEvent,
  page: PageEvent,
  screen: ScreenEvent,
  identify: IdentifyEvent,
  group: GroupEvent,
  alias: AliasEvent,
} as const;
