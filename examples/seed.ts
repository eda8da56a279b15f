/**
 * `pnpm seed`: realistic shop journeys sent through a running collector's HTTP API, the
 * same path a browser takes. Anonymous browsing, then login, cart and purchase; people on
 * several devices; browsers shared by two people; visitors who deny consent.
 *
 *   pnpm seed [--customers 200] [--host http://127.0.0.1:8080] [--write-key dev-write-key] [--days 14] [--seed 1]
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

const { values: flags } = parseArgs({
  options: {
    customers: { type: 'string', default: '200' },
    host: { type: 'string', default: process.env.TALLY_HOST ?? 'http://127.0.0.1:8080' },
    'write-key': { type: 'string', default: process.env.TALLY_WRITE_KEY ?? 'dev-write-key' },
    days: { type: 'string', default: '14' },
    seed: { type: 'string', default: '1' },
  },
});

function whole(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) {
    console.error(`seed: --${name} must be a whole number of at least ${min}, got ${value}`);
    process.exit(2);
  }
  return n;
}
const people = whole('customers', flags.customers, 1);
const days = whole('days', flags.days, 1);
let state = whole('seed', flags.seed, 0) + 0x9e3779b9;
const host = flags.host!.replace(/\/+$/, '');
const auth = `Basic ${Buffer.from(`${flags['write-key']}:`).toString('base64')}`;

// A small deterministic generator, so that one --seed gives the same journeys.
function random(): number {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (p: number) => random() < p;

const PRODUCTS = [
  { product_id: 'mug-01', name: 'Tally mug', price: 14 },
  { product_id: 'tee-02', name: 'Counting T-shirt', price: 25 },
  { product_id: 'pen-03', name: 'Tally-mark pen', price: 4.5 },
  { product_id: 'bag-04', name: 'Tote bag', price: 18 },
  { product_id: 'cap-05', name: 'Cap', price: 16 },
  { product_id: 'pad-06', name: 'Notepad', price: 6 },
];
const CAMPAIGNS = [
  { source: 'google', medium: 'cpc', name: 'spring-sale' },
  { source: 'newsletter', medium: 'email', name: 'april-letter' },
  { source: 'facebook', medium: 'social', name: 'spring-sale' },
];
const FIRST = ['Ada', 'Ben', 'Chloé', 'Dev', 'Eun', 'Femi', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Kofi', 'Lena'];
const LAST = ['Okafor', 'Novak', 'Silva', 'Tanaka', 'Berg', 'Moreau', 'Khan', 'Rossi'];
const AGENTS = [
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
];
const SHOP = 'https://shop.example';

type Message = Record<string, unknown>;
interface Device {
  anonymousId: string;
  userAgent: string;
  consent: { analytics: boolean; marketing: boolean };
}

/** The messages of one person's journeys, in time order, on their devices. */
function journeysOf(person: number, sharedDevice: Device | undefined): Message[] {
  const messages: Message[] = [];
  const first = pick(FIRST);
  const userId = `user-${person}`;
  const traits = { email: `${first.toLowerCase()}.${person}@example.com`, name: `${first} ${pick(LAST)}` };
  const deniesConsent = chance(0.08);
  const devices: Device[] = Array.from({ length: 1 + (chance(0.35) ? 1 : 0) + (chance(0.1) ? 1 : 0) }, () => ({
    anonymousId: randomUUID(),
    userAgent: pick(AGENTS),
    consent: { analytics: !deniesConsent, marketing: !deniesConsent && chance(0.6) },
  }));
  if (sharedDevice) devices.push(sharedDevice);
  const intent = random();
  let clock = Date.now() - random() * days * 86_400_000;
  let loggedIn = false;
  let orders = 0;

  for (const device of devices) {
    const visits = 1 + Math.floor(random() * 3);
    for (let visit = 0; visit < visits; visit++) {
      clock += (visit === 0 ? 0 : 3 + random() * 48) * 3_600_000;
      if (clock > Date.now() - 60_000) clock = Date.now() - 60_000 - random() * 3_600_000;
      const campaign = chance(0.4) ? pick(CAMPAIGNS) : undefined;
      const send = (message: Message, path = '/') => {
        clock += (10 + random() * 170) * 1000;
        const search = campaign ? `?utm_source=${campaign.source}&utm_medium=${campaign.medium}&utm_campaign=${campaign.name}` : '';
        messages.push({
          messageId: randomUUID(),
          anonymousId: device.anonymousId,
          ...(loggedIn && device !== sharedDevice ? { userId } : {}),
          timestamp: new Date(clock).toISOString(),
          context: {
            userAgent: device.userAgent,
            page: { path, url: `${SHOP}${path}${search}`, title: 'Tally shop' },
            ...(campaign ? { campaign } : {}),
            consent: { categoryPreferences: { necessary: true, ...device.consent } },
            library: { name: '@tally/seed', version: '0.1.0' },
          },
          ...message,
        });
      };
      send({ type: 'page', name: 'Home', properties: { path: '/' } });
      const viewed = PRODUCTS.filter(() => chance(0.35));
      for (const product of viewed.length ? viewed : [pick(PRODUCTS)]) {
        send({ type: 'track', event: 'Product Viewed', properties: { ...product, currency: 'EUR' } }, `/products/${product.product_id}`);
      }
      if (!chance(intent)) continue;
      const cart = (viewed.length ? viewed : [pick(PRODUCTS)]).filter(() => chance(0.6));
      if (cart.length === 0) continue;
      for (const product of cart) send({ type: 'track', event: 'Product Added', properties: { ...product, quantity: 1, currency: 'EUR' } }, `/products/${product.product_id}`);
      if (!loggedIn && chance(0.8) && device !== sharedDevice) {
        loggedIn = true;
        send({ type: 'identify', userId, traits }, '/login');
      }
      if (!chance(intent)) continue;
      const total = cart.reduce((sum, p) => sum + p.price, 0);
      const products = cart.map((p) => ({ ...p, quantity: 1 }));
      send({ type: 'track', event: 'Cart Viewed', properties: { cart_id: device.anonymousId, products } }, '/cart');
      send({ type: 'track', event: 'Checkout Started', properties: { revenue: total, currency: 'EUR', products } }, '/checkout');
      if (!chance(0.7)) continue;
      orders++;
      send({ type: 'track', event: 'Order Completed', properties: { order_id: `order-${person}-${orders}`, total, revenue: total, currency: 'EUR', products } }, '/checkout');
    }
  }
  return messages;
}

interface Totals {
  customers: number;
  events: number;
  orders: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  failedRequests: number;
}
const totals: Totals = { customers: 0, events: 0, orders: 0, accepted: 0, duplicates: 0, rejected: 0, failedRequests: 0 };
const rejectionReasons = new Map<string, number>();

async function sendBatch(batch: Message[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let response: Response;
    try {
      response = await fetch(`${host}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: JSON.stringify({ batch, sentAt: new Date().toISOString() }),
      });
    } catch (error) {
      if (attempt === 0) {
        console.error(`\nseed: cannot reach the collector at ${host} (${error instanceof Error ? error.message : String(error)}); is \`pnpm start\` running?`);
        process.exit(1);
      }
      throw error;
    }
    if (response.status === 503 && attempt < 5) {
      await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      continue;
    }
    const body = (await response.json().catch(() => ({}))) as { accepted?: number; duplicates?: number; rejected?: { reason?: string }[]; error?: { message?: string } };
    if (!response.ok) {
      totals.failedRequests++;
      console.error(`\nseed: the collector answered ${response.status}: ${body.error?.message ?? 'no message'}`);
      if (response.status === 401 || response.status === 403) process.exit(1);
      return;
    }
    totals.accepted += body.accepted ?? 0;
    totals.duplicates += body.duplicates ?? 0;
    totals.rejected += body.rejected?.length ?? 0;
    for (const r of body.rejected ?? []) rejectionReasons.set(r.reason ?? 'unknown', (rejectionReasons.get(r.reason ?? 'unknown') ?? 0) + 1);
    return;
  }
}

function progress(done: number) {
  const width = 30;
  const filled = Math.round((done / people) * width);
  process.stderr.write(`\r  [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${people} customers, ${totals.events} events`);
}

const started = Date.now();
let sharedDevice: Device | undefined;
const pending: Message[] = [];
for (let person = 1; person <= people; person++) {
  // About one person in twelve uses a browser someone else logged in on before.
  const shared = sharedDevice && chance(0.08) ? sharedDevice : undefined;
  const messages = journeysOf(person, shared);
  sharedDevice = { anonymousId: String(messages[0]?.anonymousId), userAgent: pick(AGENTS), consent: { analytics: true, marketing: false } };
  totals.customers++;
  totals.events += messages.length;
  totals.orders += messages.filter((m) => m.event === 'Order Completed').length;
  pending.push(...messages);
  while (pending.length >= 100) await sendBatch(pending.splice(0, 100));
  progress(person);
}
if (pending.length) await sendBatch(pending.splice(0));
process.stderr.write('\n');

const seconds = (Date.now() - started) / 1000;
console.log(`
  sent to ${host} in ${seconds.toFixed(1)} s
  customers  ${totals.customers}
  events     ${totals.events}
  orders     ${totals.orders}
  accepted   ${totals.accepted}
  duplicates ${totals.duplicates}
  rejected   ${totals.rejected}${rejectionReasons.size ? ` (${[...rejectionReasons].map(([r, n]) => `${r}: ${n}`).join(', ')})` : ''}${totals.failedRequests ? `\n  failed requests ${totals.failedRequests}` : ''}
`);
