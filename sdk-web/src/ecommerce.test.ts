// @vitest-environment node
import { parseMessage, SPEC_EVENTS } from '@tally/schemas';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTally } from './core.js';
import { ecommerceEvent, ECOMMERCE_HELPERS } from './ecommerce.js';
import { memoryStorage } from './env.js';
import { VERSION } from './version.js';

describe('e-commerce helpers', () => {
  it('emit the spec v2 event names, which the schemas know', () => {
    expect(ECOMMERCE_HELPERS.map(ecommerceEvent)).toEqual([
      'Product Viewed',
      'Product Added',
      'Product Removed',
      'Cart Viewed',
      'Checkout Started',
      'Order Completed',
    ]);
    for (const h of ECOMMERCE_HELPERS) expect(Object.keys(SPEC_EVENTS)).toContain(ecommerceEvent(h));
  });

  it('send messages that pass the collector’s strict spec schemas', async () => {
    const bodies: string[] = [];
    const t = createTally(() => ({ storage: memoryStorage(), send: async (_u, b) => (bodies.push(b), { status: 200 }) }));
    t.init({ writeKey: 'wk', flushAt: 6 });
    const product = { product_id: 'p-1', sku: 'SKU-1', name: 'Mug', price: 12.5, quantity: 1, currency: 'EUR' };
    t.productViewed(product);
    t.productAdded({ ...product, cart_id: 'c-1' });
    t.productRemoved({ ...product, cart_id: 'c-1' });
    t.cartViewed({ cart_id: 'c-1', products: [product] });
    t.checkoutStarted({ order_id: 'o-1', value: 12.5, revenue: 12.5, currency: 'EUR', products: [product] });
    t.orderCompleted({ order_id: 'o-1', total: 12.5, revenue: 12.5, currency: 'EUR', products: [product] });
    await new Promise((r) => setTimeout(r, 0));
    const batch = JSON.parse(bodies[0]!).batch;
    expect(batch.map((m: { event: string }) => m.event)).toEqual(ECOMMERCE_HELPERS.map(ecommerceEvent));
    for (const m of batch) expect(parseMessage(m)).toMatchObject({ success: true });
  });
});

describe('library version', () => {
  it('matches package.json', () => {
    expect(VERSION).toBe(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version);
  });
});
