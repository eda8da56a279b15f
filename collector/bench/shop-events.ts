// The events the collector benchmarks send: the traffic of a small shop, browser by browser.
// Shared by bench/collector.ts (over HTTP, with Postgres) and bench/prepare.ts (in-process CPU).

const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
];
const PRODUCTS = ['Trail Shoe', 'Rain Jacket', 'Wool Socks', 'Day Pack', 'Headlamp'];

/**
 * One simulated browser: it keeps its anonymousId for its whole visit and, once its visitor
 * logs in (an identify, about one event in 20), sends that same userId with every later event.
 */
export interface Browser {
  anonymousId: string;
  loginAs: string;
  userId: string | null;
}

export function newBrowser(id: string): Browser {
  return { anonymousId: `anon-${id}`, loginAs: `user-${id}`, userId: null };
}

/**
 * A realistic browser event (~700 bytes as JSON): about 1 in 20 an identify, the rest page
 * views, track calls and e-commerce events, in the proportions of a shop.
 */
export function makeEvent(browser: Browser, messageId: string, n: number, random: () => number = Math.random): Record<string, unknown> {
  const now = new Date().toISOString();
  const product = n % 500;
  const roll = random();
  let call: Record<string, unknown>;
  if (roll < 0.05) {
    browser.userId = browser.loginAs;
    call = { type: 'identify', traits: { email: `${browser.loginAs}@example.com`, name: 'Kim Example', plan: n % 2 === 0 ? 'pro' : 'free' } };
  } else if (roll < 0.45) {
    call = { type: 'page', name: 'Product', properties: { title: PRODUCTS[product % PRODUCTS.length], path: `/products/${product}` } };
  } else if (roll < 0.7) {
    call = {
      type: 'track',
      event: 'Product Viewed',
      properties: { product_id: `p-${product}`, sku: `SKU-${product}`, name: PRODUCTS[product % PRODUCTS.length], price: 89.9, currency: 'EUR', category: 'outdoor' },
    };
  } else if (roll < 0.82) {
    call = {
      type: 'track',
      event: 'Product Added',
      properties: { product_id: `p-${product}`, sku: `SKU-${product}`, name: PRODUCTS[product % PRODUCTS.length], price: 89.9, currency: 'EUR', quantity: 1 },
    };
  } else if (roll < 0.9) {
    call = { type: 'track', event: 'Checkout Started', properties: { value: 179.8, currency: 'EUR', products: [{ product_id: `p-${product}`, price: 89.9, quantity: 2 }] } };
  } else if (roll < 0.94) {
    call = {
      type: 'track',
      event: 'Order Completed',
      properties: { order_id: `o-${messageId}`, revenue: 179.8, currency: 'EUR', products: [{ product_id: `p-${product}`, price: 89.9, quantity: 2 }] },
    };
  } else {
    call = { type: 'track', event: 'Video Played', properties: { position: n % 30, section: 'hero' } };
  }
  return {
    ...call,
    messageId,
    anonymousId: browser.anonymousId,
    ...(browser.userId !== null ? { userId: browser.userId } : {}),
    timestamp: now,
    sentAt: now,
    context: {
      library: { name: 'tally.js', version: '0.1.0' },
      page: { url: `https://shop.example/products/${product}?utm_source=news&utm_medium=email`, path: `/products/${product}`, referrer: 'https://www.example.org/', title: 'Trail Shoe' },
      userAgent: AGENTS[n % AGENTS.length],
      locale: 'de-DE',
      timezone: 'Europe/Berlin',
      screen: { width: 1440, height: 900, density: 2 },
      campaign: { name: 'spring', source: 'news', medium: 'email' },
      consent: { categoryPreferences: { analytics: true, marketing: false } },
    },
  };
}

/** Batches one browser sends before its visitor leaves and a new browser takes its place: 1 to 15. */
export function visitLength(): number {
  return 1 + Math.floor(Math.random() * 15);
}

