// @vitest-environment node
import { parseMessage } from '@tally/schemas';
import { describe, expect, it } from 'vitest';
import { createTally } from './core.js';
import { memoryStorage } from './env.js';
import { trackExperimentViewed } from './experiments.js';

describe('experiment helper', () => {
  it('sends Experiment Viewed with the ids and names given, which the collector’s strict schema accepts', async () => {
    const bodies: string[] = [];
    const t = createTally(() => ({ storage: memoryStorage(), send: async (_u, b) => (bodies.push(b), { status: 200 }) }));
    t.init({ writeKey: 'wk', flushAt: 1 });
    trackExperimentViewed(t, { experiment_id: 'checkout-button', experiment_name: 'Checkout button', variant_id: 'green', variant_name: 'Green' });
    await new Promise((r) => setTimeout(r, 0));
    const [message] = JSON.parse(bodies[0]!).batch;
    expect(message).toMatchObject({
      type: 'track',
      event: 'Experiment Viewed',
      properties: { experiment_id: 'checkout-button', experiment_name: 'Checkout button', variant_id: 'green', variant_name: 'Green' },
    });
    expect(parseMessage(message)).toMatchObject({ success: true });
    // Without a variant the same message is refused, saying why.
    expect(parseMessage({ ...message, properties: { experiment_id: 'checkout-button' } })).toMatchObject({
      success: false,
      errors: ['properties.variant_id: required, expected a string'],
    });
  });
});
