// @vitest-environment node
import { parseMessage } from '@tally/schemas';
import { describe, expect, it, vi } from 'vitest';
import { createTally } from './core.js';
import { memoryStorage, type SendResult } from './env.js';
import { acceptUserHash } from './user-hash.js';

describe('identify with a userHash', () => {
  it('sends the hash as context.userHash of the identify only, also when called before init', async () => {
    const bodies: string[] = [];
    const send = vi.fn(async (_url: string, body: string): Promise<SendResult> => {
      bodies.push(body);
      return { status: 200 };
    });
    const tally = acceptUserHash(createTally(() => ({ storage: memoryStorage(), send })));
    const hash = 'a'.repeat(64);
    tally.identify('user-1', { plan: 'pro' }, { userHash: hash, context: { locale: 'de-DE' } });
    tally.init({ writeKey: 'wk_node', host: 'https://collector.test', flushAt: 3 });
    tally.identify('user-1', undefined, { userHash: hash });
    tally.track('Signed Up');
    await vi.waitFor(() => expect(bodies).toHaveLength(1));
    const batch = JSON.parse(bodies[0]!).batch;
    expect(batch.map((m: { type: string }) => m.type)).toEqual(['identify', 'identify', 'track']);
    expect(batch[0].context).toMatchObject({ userHash: hash, locale: 'de-DE' });
    expect(batch[1].context.userHash).toBe(hash);
    expect(batch[2].context.userHash).toBeUndefined();
    for (const m of batch) expect(parseMessage(m).success).toBe(true);
  });
});
