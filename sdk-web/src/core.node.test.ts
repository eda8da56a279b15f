// @vitest-environment node
import { parseMessage } from '@tally/schemas';
import { describe, expect, it, vi } from 'vitest';
import { createTally } from './core.js';
import { memoryStorage, type SendResult } from './env.js';

describe('the core under plain Node', () => {
  it('runs with an in-memory storage adapter and sends valid wire-format batches', async () => {
    expect(typeof (globalThis as { window?: unknown }).window).toBe('undefined');
    const bodies: string[] = [];
    const send = vi.fn(async (_url: string, body: string): Promise<SendResult> => {
      bodies.push(body);
      return { status: 200 };
    });
    const storage = memoryStorage();
    const tally = createTally(() => ({ storage, send }));
    tally.init({ writeKey: 'wk_node', host: 'https://collector.test/', flushAt: 3 });
    tally.identify('user-1', { plan: 'pro' });
    tally.track('Signed Up', { source: 'app' });
    tally.screen('Home');
    await vi.waitFor(() => expect(bodies).toHaveLength(1));

    expect(send.mock.calls[0]![0]).toBe('https://collector.test/v1/batch');
    const body = JSON.parse(bodies[0]!);
    expect(body.writeKey).toBe('wk_node');
    expect(body.batch.map((m: { type: string }) => m.type)).toEqual(['identify', 'track', 'screen']);
    for (const m of body.batch) {
      const r = parseMessage(m);
      expect(r.success, JSON.stringify(r)).toBe(true);
      expect(m.userId).toBe('user-1');
      expect(m.anonymousId).toBe(tally.user()!.anonymousId);
      expect(m.context.library).toEqual({ name: '@tally/sdk-web', version: '0.1.0' });
    }
    // identity went to the storage adapter
    expect(storage.getItem('tally_uid')).toBe('user-1');
    expect(storage.getItem('tally_aid')).toBe(tally.user()!.anonymousId);
  });
});
