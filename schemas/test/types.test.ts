import { expectTypeOf, test } from 'vitest';
import type { Message, OrderCompletedProperties, PageEvent, TrackEvent } from '@tally/schemas';

test('a minimal message type-checks without the optional fields', () => {
  const track: TrackEvent = { type: 'track', messageId: 'm-1', anonymousId: 'a-1', event: 'Signed Up' };
  const page: PageEvent = { type: 'page', messageId: 'm-2', userId: 'u-1' };
  const messages: Message[] = [track, page];
  expectTypeOf(messages[0]!.type).toEqualTypeOf<'track' | 'page' | 'screen' | 'identify' | 'group' | 'alias'>();
  expectTypeOf<TrackEvent['userId']>().toEqualTypeOf<string | undefined>();
  expectTypeOf<OrderCompletedProperties['order_id']>().toEqualTypeOf<string>();
  expectTypeOf<OrderCompletedProperties['revenue']>().toEqualTypeOf<number | undefined>();
});
