/**
 * Prints how fast parseMessage validates typical events on this machine.
 * Run: `npx tsx scripts/bench-parse.ts`.
 */
import { parseMessage } from '../src/parse.js';

const page = {
  type: 'page',
  messageId: 'ajs-next-1714564800123-6b1f0c3e',
  anonymousId: 'c2d8f2d4-93f4-4b5e-8a71-0f4b4b5e9c1a',
  userId: null,
  properties: { path: '/pricing', url: 'https://www.example.com/pricing', title: 'Pricing', referrer: '' },
  context: {
    page: { path: '/pricing', url: 'https://www.example.com/pricing', title: 'Pricing', referrer: '', search: '' },
    userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    locale: 'en-US',
    timezone: 'Europe/Berlin',
    library: { name: 'analytics.js', version: 'next-1.70.0' },
    consent: { categoryPreferences: { necessary: true, analytics: true, marketing: false } },
  },
  timestamp: '2024-05-01T12:00:00.123Z',
  sentAt: '2024-05-01T12:00:00.130Z',
};
const order = {
  type: 'track',
  messageId: 'node-next-1714564920000-743be593',
  userId: 'user-42',
  event: 'Order Completed',
  properties: {
    order_id: '50314b8e9bcf000000000000',
    total: 27.5,
    revenue: 25,
    currency: 'USD',
    products: Array.from({ length: 5 }, (_, i) => ({ product_id: `p-${i}`, sku: `s-${i}`, price: 19, quantity: 1 })),
  },
  timestamp: '2024-05-01T12:02:00.000Z',
};
const invalid = { ...order, properties: { ...order.properties, order_id: undefined, currency: 'dollars' } };

function measure(label: string, event: unknown, runs: number): void {
  for (let i = 0; i < 2_000; i++) parseMessage(event);
  const start = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) parseMessage(event, 'batch[0]');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${label.padEnd(34)} ${Math.round(runs / seconds).toLocaleString('en-US').padStart(9)} events/s  (${((seconds / runs) * 1e6).toFixed(1)} µs each)`);
}

measure('page (analytics.js shape)', page, 50_000);
measure('Order Completed, 5 products', order, 50_000);
measure('invalid Order Completed (2 errors)', invalid, 20_000);
