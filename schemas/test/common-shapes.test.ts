import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MESSAGE_SCHEMAS, MESSAGE_TYPES, type MessageType, parseBatch, parseMessage, SPEC_EVENTS } from '@tally/schemas';
import { readCommonShape } from '../src/common-shapes.js';
import { validFixtures } from './fixtures.js';

/**
 * The promise of the fast path: whenever it reads a message, the schema of its type accepts
 * that message and gives a value equal to what the fast path gave (`toStrictEqual`: the same
 * keys, `undefined` ones included). Whenever it does not, parseMessage asks zod, so the answers
 * (accepted or refused, the data, the errors) are zod's in every case.
 */
function expectZodAgrees(input: Record<string, unknown>, type: MessageType): boolean {
  const common = readCommonShape(input, type);
  if (common === undefined) return false;
  const zod = MESSAGE_SCHEMAS[type].safeParse(input);
  if (!zod.success) throw new Error(`the fast path accepted what zod refuses: ${zod.error.message}\n${JSON.stringify(input)}`);
  expect(common).toStrictEqual(zod.data);
  return true;
}

/** An object with an own `__proto__` key, as JSON.parse makes from `{"__proto__": …}`. */
function withProtoKey(value: Record<string, unknown>, protoValue: unknown): Record<string, unknown> {
  const copy = { ...value };
  Object.defineProperty(copy, '__proto__', { value: protoValue, enumerable: true, writable: true, configurable: true });
  return copy;
}

const oddValue = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.constant(''),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.string(),
  fc.constant([]),
  fc.constant({}),
  fc.jsonValue(),
);
/** A value of the expected kind most of the time, any other value sometimes. */
const mostly = <T>(usual: fc.Arbitrary<T>) => fc.oneof({ arbitrary: usual, weight: 30 }, { arbitrary: oddValue, weight: 1 });
/** Absent most of the time (a record field left out), or one of the values given. */
const text = fc.oneof(fc.constantFrom('a', 'x-1', 'Trail Shoe', 'https://shop.example/p?utm_source=news'), fc.string());
const identifier = fc.oneof(
  { arbitrary: text, weight: 12 },
  { arbitrary: fc.constantFrom('', null, 2 ** 60), weight: 2 },
  { arbitrary: fc.oneof(fc.integer(), fc.double()), weight: 1 },
);
const two = (n: number) => String(n).padStart(2, '0');
/** Date-time strings around the edges of the canonical form and of real dates. */
const dateTime = fc.oneof(
  { arbitrary: fc.date({ noInvalidDate: true, min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z') }).map((d) => d.toISOString()), weight: 12 },
  {
    arbitrary: fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.constantFrom('T', 't', ' '),
        fc.integer({ min: 0, max: 24 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 61 }),
        fc.constantFrom('', '.5', '.123', '.123456789'),
        fc.constantFrom('Z', 'z', '+02:00', '-0130', '+02', ''),
      )
      .map(([y, mo, d, t, h, mi, s, f, z]) => `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}${t}${two(h)}:${two(mi)}:${two(s)}${f}${z}`),
    weight: 4,
  },
  { arbitrary: oddValue, weight: 1 },
);
const money = fc.oneof(
  { arbitrary: fc.constantFrom(0, -0, 89.9, 1e21), weight: 10 },
  { arbitrary: fc.oneof(fc.double(), fc.integer({ min: -3, max: 3 }), oddValue), weight: 1 },
);
const count = fc.oneof({ arbitrary: fc.integer({ min: 1, max: 5 }), weight: 10 }, { arbitrary: fc.oneof(fc.integer({ min: -2, max: 0 }), fc.double({ min: -1, max: 3 }), oddValue), weight: 1 });
const currency = fc.oneof(
  { arbitrary: fc.constantFrom('EUR', 'usd'), weight: 10 },
  { arbitrary: fc.oneof(fc.constantFrom('EU', 'EURO', 'E1R'), fc.string({ minLength: 3, maxLength: 3 }), oddValue), weight: 1 },
);
const product = fc.oneof(
  fc.record(
    {
      product_id: mostly(text),
      sku: mostly(text),
      name: mostly(text),
      category: mostly(text),
      brand: mostly(text),
      price: money,
      quantity: count,
      position: count,
      coupon: mostly(text),
      url: mostly(text),
      image_url: mostly(text),
    },
    { requiredKeys: [] },
  ),
  oddValue,
);
const properties = fc.oneof(
  {
    arbitrary: fc.record(
      {
        product_id: mostly(text),
        sku: mostly(text),
        name: mostly(text),
        price: money,
        quantity: count,
        position: count,
        currency,
        value: money,
        revenue: money,
        shipping: money,
        tax: money,
        discount: money,
        subtotal: money,
        total: money,
        order_id: mostly(text),
        checkout_id: mostly(text),
        cart_id: mostly(text),
        affiliation: mostly(text),
        coupon: mostly(text),
        products: fc.oneof(fc.array(product, { maxLength: 3 }), oddValue),
        score: count,
        scale: fc.constantFrom('nps', 'csat', 'ces'),
        comment: mostly(text),
        survey_id: mostly(text),
        experiment_id: mostly(text),
        variant_id: mostly(text),
        title: mostly(text),
        path: mostly(text),
      },
      { requiredKeys: [] },
    ),
    weight: 8,
  },
  { arbitrary: oddValue, weight: 1 },
);
const context = fc.oneof(
  {
    arbitrary: fc.record(
      {
        library: mostly(fc.record({ name: mostly(text), version: mostly(text) }, { requiredKeys: [] })),
        page: mostly(fc.record({ url: mostly(text), path: mostly(text), referrer: mostly(text), title: mostly(text), search: mostly(text) }, { requiredKeys: [] })),
        userAgent: mostly(text),
        locale: mostly(text),
        timezone: mostly(text),
        ip: mostly(text),
        screen: mostly(fc.record({ width: money, height: money, density: money }, { requiredKeys: [] })),
        campaign: mostly(fc.record({ name: mostly(text), source: mostly(text), medium: mostly(text), term: mostly(text), content: mostly(text) }, { requiredKeys: [] })),
        consent: mostly(
          fc.record(
            {
              categoryPreferences: mostly(fc.dictionary(fc.constantFrom('analytics', 'marketing', 'necessary', 'x'), mostly(fc.boolean()))),
              category: mostly(text),
              gpc: mostly(fc.boolean()),
            },
            { requiredKeys: ['categoryPreferences'] },
          ),
        ),
        device: fc.jsonValue(),
        traits: fc.jsonValue(),
      },
      { requiredKeys: [] },
    ),
    weight: 8,
  },
  { arbitrary: oddValue, weight: 1 },
);
const message = fc
  .tuple(
    fc.constantFrom(...MESSAGE_TYPES),
    fc.record(
      {
        messageId: mostly(text),
        anonymousId: identifier,
        userId: identifier,
        previousId: identifier,
        groupId: identifier,
        event: fc.oneof(fc.constantFrom(...Object.keys(SPEC_EVENTS), 'Consent Updated', 'Video Played', ''), oddValue),
        name: mostly(text),
        category: mostly(text),
        timestamp: dateTime,
        sentAt: dateTime,
        originalTimestamp: dateTime,
        context,
        properties,
        traits: properties,
        integrations: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), oddValue),
        extra: fc.jsonValue(),
      },
      { requiredKeys: ['messageId', 'event'] },
    ),
    fc.constantFrom('none', 'none', 'none', 'none', 'message', 'context', 'properties', 'page', 'consent'),
    fc.jsonValue(),
  )
  .map(([type, fields, protoAt, protoValue]) => {
    const input: Record<string, unknown> = { type, ...fields };
    const nest = (key: string, inner?: string) => {
      const outer = input[key];
      if (inner === undefined) {
        if (typeof outer === 'object' && outer !== null && !Array.isArray(outer)) input[key] = withProtoKey(outer as Record<string, unknown>, protoValue);
        return;
      }
      const value = (outer as Record<string, unknown> | undefined)?.[inner];
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        input[key] = { ...(outer as Record<string, unknown>), [inner]: withProtoKey(value as Record<string, unknown>, protoValue) };
      }
    };
    if (protoAt === 'message') return { type, input: withProtoKey(input, protoValue) };
    if (protoAt === 'context' || protoAt === 'properties') nest(protoAt);
    if (protoAt === 'page' || protoAt === 'consent') nest('context', protoAt);
    return { type, input };
  });

const canonicalDateTime = fc
  .date({ noInvalidDate: true, min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z') })
  .map((d) => d.toISOString());

/** A key as senders name traits and integrations: never `__proto__`, which the fast path leaves to zod. */
const usualKey = fc.string().filter((key) => key !== '__proto__');

/**
 * A message in a common shape: every field absent or valid, the way browsers and servers send
 * them, in objects as JSON.parse makes them (fast-check's other objects have no prototype,
 * which the fast path leaves to zod).
 */
const usualMessage = fc
  .tuple(
    fc.constantFrom(...MESSAGE_TYPES),
    fc.record(
      {
        messageId: fc.constantFrom('m-1', 'ajs-next-1714564800000-0b3c'),
        anonymousId: fc.constantFrom('a-1', '', null),
        userId: fc.constantFrom('u-1', '', null),
        previousId: fc.constantFrom('p-1'),
        groupId: fc.constantFrom('g-1'),
        event: fc.constantFrom('Product Viewed', 'Product Added', 'Product Removed', 'Cart Viewed', 'Checkout Started', 'Order Completed', 'Consent Updated', 'Video Played'),
        name: fc.constantFrom('Home', null),
        category: fc.constantFrom('Docs', null),
        timestamp: canonicalDateTime,
        sentAt: canonicalDateTime,
        originalTimestamp: canonicalDateTime,
        context: fc.record(
          {
            library: fc.record({ name: text, version: text }, { requiredKeys: [], noNullPrototype: true }),
            page: fc.record({ url: text, path: text, referrer: text, title: text, search: text }, { requiredKeys: [], noNullPrototype: true }),
            userAgent: text,
            locale: text,
            ip: text,
            screen: fc.record({ width: fc.constantFrom(0, 1440), height: fc.constantFrom(900, 0.5), density: fc.constantFrom(2, 1.5) }, { requiredKeys: [], noNullPrototype: true }),
            campaign: fc.record({ name: text, source: text, medium: text, term: text, content: text }, { requiredKeys: [], noNullPrototype: true }),
            consent: fc.record(
              { categoryPreferences: fc.dictionary(fc.constantFrom('analytics', 'marketing', 'necessary'), fc.boolean(), { noNullPrototype: true }), category: fc.constantFrom('marketing'), gpc: fc.boolean() },
              { requiredKeys: ['categoryPreferences'], noNullPrototype: true },
            ),
            device: fc.jsonValue(),
          },
          { requiredKeys: [], noNullPrototype: true },
        ),
        properties: fc.record(
          {
            product_id: fc.constantFrom('p-1'),
            sku: fc.constantFrom('SKU-1'),
            order_id: fc.constantFrom('o-1'),
            price: fc.constantFrom(0, 89.9),
            quantity: fc.constantFrom(1, 2),
            position: fc.constantFrom(0, 3),
            currency: fc.constantFrom('EUR', 'usd'),
            value: fc.constantFrom(0, 179.8),
            revenue: fc.constantFrom(179.8),
            products: fc.array(fc.record({ product_id: fc.constantFrom('p-1'), sku: fc.constantFrom('S-1'), price: fc.constantFrom(9.5), quantity: fc.constantFrom(1) }, { requiredKeys: [], noNullPrototype: true }), { maxLength: 2 }),
            title: text,
          },
          { requiredKeys: [], noNullPrototype: true },
        ),
        traits: fc.dictionary(usualKey, fc.jsonValue(), { maxKeys: 3, noNullPrototype: true }),
        integrations: fc.dictionary(usualKey, fc.jsonValue(), { maxKeys: 2, noNullPrototype: true }),
      },
      { requiredKeys: ['messageId', 'event', 'anonymousId'], noNullPrototype: true },
    ),
  )
  .map(([type, fields]) => ({ type, input: { type, ...fields } as Record<string, unknown> }));

/** Where a mutation may put an odd value, as a path of keys. */
const MUTABLE_PATHS = [
  ['messageId'], ['anonymousId'], ['userId'], ['event'], ['name'], ['timestamp'], ['sentAt'], ['groupId'], ['previousId'],
  ['context'], ['context', 'page'], ['context', 'page', 'url'], ['context', 'screen', 'width'], ['context', 'screen', 'density'],
  ['context', 'consent'], ['context', 'consent', 'categoryPreferences'], ['context', 'consent', 'categoryPreferences', 'analytics'],
  ['context', 'consent', 'category'], ['context', 'userAgent'], ['context', 'campaign', 'source'], ['context', 'library'],
  ['properties'], ['properties', 'price'], ['properties', 'quantity'], ['properties', 'currency'], ['properties', 'product_id'],
  ['properties', 'sku'], ['properties', 'order_id'], ['properties', 'products'], ['properties', 'products', '0'],
  ['properties', 'products', '0', 'price'], ['properties', 'products', '0', 'product_id'], ['traits'], ['integrations'],
];

/** Sets `value` at `path` in a copy of `input` (creating objects on the way). */
function mutate(input: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path as [string, ...string[]];
  const copy: Record<string, unknown> = Array.isArray(input) ? ([...input] as unknown as Record<string, unknown>) : { ...input };
  if (rest.length === 0) copy[head] = value;
  else {
    const inner = copy[head];
    copy[head] = mutate(typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : {}, rest, value);
  }
  return copy;
}

/** A usual message with one field (at any depth) holding an odd value, sometimes a plausible wrong one. */
const mutatedMessage = fc
  .tuple(usualMessage, fc.constantFrom(...MUTABLE_PATHS), fc.oneof(oddValue, dateTime, money, currency, identifier))
  .map(([{ type, input }, path, value]) => ({ type, input: mutate(input, path, value) }));

describe('the fast path of validation gives exactly the answers of the zod schemas', () => {
  test('on generated messages, whatever it reads zod accepts with an equal value (and it reads a good share of them)', () => {
    let read = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.oneof(usualMessage, mutatedMessage, mutatedMessage, message), ({ type, input }) => {
        runs++;
        if (expectZodAgrees(input, type)) read++;
      }),
      { numRuns: 20_000 },
    );
    console.log(`the fast path read ${read} of ${runs} generated messages; zod read the others`);
    // Otherwise the property above would hold for a fast path that reads nothing.
    expect(read / runs).toBeGreaterThan(0.15);
  });

  test('every message in a common shape that zod accepts, the fast path reads (so it pays where traffic is)', () => {
    fc.assert(
      fc.property(usualMessage, ({ type, input }) => {
        expect(readCommonShape(input, type) !== undefined).toBe(MESSAGE_SCHEMAS[type].safeParse(input).success);
      }),
      { numRuns: 5_000 },
    );
  });

  test('on every message of the valid fixtures (real SDK payloads), parseMessage answers as zod does', () => {
    let read = 0;
    for (const fixture of validFixtures) {
      const items = fixture.kind === 'batch' ? (parseBatch(fixture.payload) as { data: { batch: unknown[] } }).data.batch : [fixture.payload];
      for (const item of items) {
        const record = item as Record<string, unknown>;
        const type = record['type'] as MessageType;
        if (expectZodAgrees(record, type)) read++;
        const zod = MESSAGE_SCHEMAS[type].safeParse(record);
        const result = parseMessage(record);
        expect(result.success).toBe(zod.success);
        if (result.success) expect(result.data).toStrictEqual(zod.data);
      }
    }
    expect(read).toBeGreaterThan(validFixtures.length / 2);
  });

  test("a browser's usual messages are read as sent, without a copy", () => {
    const page = {
      type: 'page',
      messageId: 'ajs-next-1',
      anonymousId: 'a-1',
      timestamp: '2026-12-01T10:00:00.123Z',
      context: { page: { url: 'https://shop.example/' }, userAgent: 'Mozilla/5.0', consent: { categoryPreferences: { analytics: true } } },
      properties: { title: 'Home' },
    };
    expect(parseMessage(page)).toEqual({ success: true, data: page });
    expect((parseMessage(page) as { data: unknown }).data).toBe(page);
    const order = {
      type: 'track',
      messageId: 'm-2',
      userId: 'u-1',
      event: 'Order Completed',
      properties: { order_id: 'o-1', revenue: 25, currency: 'EUR', products: [{ product_id: 'p-1', price: 25, quantity: 1 }] },
    };
    expect((parseMessage(order) as { data: unknown }).data).toBe(order);
  });

  test("analytics.js's `userId: null` reads as absent on the fast path too, as zod reads it", () => {
    const page = { type: 'page', messageId: 'ajs-next-2', anonymousId: 'a-1', userId: null, properties: null };
    expect(readCommonShape(page, 'page')).toStrictEqual({ ...page, userId: undefined, properties: undefined });
    expectZodAgrees(page, 'page');
  });

  test('what the fast path leaves to zod is still refused, with the schema’s errors', () => {
    expect(parseMessage({ type: 'track', messageId: 'm-1', anonymousId: 'a', event: 'Product Viewed', properties: { price: -1 } }, 'batch[0]')).toEqual({
      success: false,
      reason: 'schema',
      errors: ['batch[0].properties.price: must be at least 0, got -1', 'batch[0].properties.product_id: required, a product needs a product_id or a sku'],
    });
    expect(parseMessage({ type: 'page', messageId: 'm-1', anonymousId: 'a', timestamp: '2024-02-30T00:00:00Z' })).toMatchObject({ success: false, reason: 'schema' });
    // Read by zod, not refused: an offset is normalised to UTC, a numeric id to its decimal string.
    expect(parseMessage({ type: 'page', messageId: 'm-1', anonymousId: 7, timestamp: '2024-05-01T14:00:00+02:00' })).toEqual({
      success: true,
      data: { type: 'page', messageId: 'm-1', anonymousId: '7', timestamp: '2024-05-01T12:00:00Z' },
    });
  });
});
