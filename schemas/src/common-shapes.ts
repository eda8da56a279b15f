import { CONSENT_UPDATED_EVENT } from './consent.js';
import type { Message, MessageType } from './message.js';
import { isSpecEventName } from './spec-events.js';

/*
 * The message schemas (track.ts, page.ts, …) are the definition of the wire format, and zod
 * applies them by copying every object it checks. Nearly every message a collector receives
 * is in one of a few shapes that the schemas accept and return unchanged: string ids, UTC
 * date-times, the context analytics.js and Tally's SDK send, the e-commerce events' usual
 * properties. `readCommonShape` recognises those shapes with plain checks and no copies, and
 * answers `undefined` for anything else — wrong, or merely unusual — so that zod decides and
 * explains it. It never accepts what the schemas refuse, and what it returns equals what they
 * would (schemas/test/common-shapes.test.ts holds it to that with generated messages).
 */

type Json = Record<string, unknown>;

/** Fields that read `null` as absent (`absentWhenNull` in the schemas), per message type. */
const NULLABLE: Record<MessageType, readonly string[]> = {
  track: ['anonymousId', 'userId', 'context', 'integrations', 'properties'],
  page: ['anonymousId', 'userId', 'context', 'integrations', 'properties', 'name', 'category'],
  screen: ['anonymousId', 'userId', 'context', 'integrations', 'properties', 'name', 'category'],
  identify: ['anonymousId', 'userId', 'context', 'integrations', 'traits'],
  group: ['anonymousId', 'userId', 'context', 'integrations', 'traits'],
  alias: ['anonymousId', 'context', 'integrations'],
};

/**
 * The value the schema of `type` gives `input`, when `input` is in one of the common shapes;
 * `undefined` when it is not, and zod must decide. The value is `input` itself (a shallow copy
 * when a field reads `null` as absent), so a caller must not change it.
 *
 * @example
 * readCommonShape({ type: 'track', messageId: 'm-1', anonymousId: 'a-1', event: 'Signed Up' }, 'track'); // the same object
 * readCommonShape({ type: 'track', messageId: 'm-1', anonymousId: 42, event: 'Signed Up' }, 'track'); // undefined: zod reads 42 as '42'
 */
export function readCommonShape(input: Json, type: MessageType): Message | undefined {
  if (!isPlain(input) || input['type'] !== type) return undefined;
  let nulls: string[] | undefined;
  for (const key of NULLABLE[type]) {
    if (input[key] === null) (nulls ??= []).push(key);
  }
  // A field of NULLABLE as the schema reads it.
  const present = (key: string): unknown => (input[key] === null ? undefined : input[key]);

  if (!nonEmptyString(input['messageId'])) return undefined;
  if (!optionalString(present('anonymousId'))) return undefined;
  if (!dateTime(input['timestamp']) || !dateTime(input['sentAt']) || !dateTime(input['originalTimestamp'])) return undefined;
  const context = present('context');
  if (context !== undefined && !commonContext(context)) return undefined;
  if (!optionalRecord(present('integrations'))) return undefined;

  switch (type) {
    case 'track': {
      const event = input['event'];
      if (!nonEmptyString(event) || !optionalString(present('userId'))) return undefined;
      const properties = present('properties');
      if (!optionalRecord(properties)) return undefined;
      if (!specPropertiesPass(event, (properties ?? {}) as Json)) return undefined;
      break;
    }
    case 'page':
    case 'screen':
      if (!optionalString(present('userId')) || !optionalString(present('name')) || !optionalString(present('category'))) return undefined;
      if (!optionalRecord(present('properties'))) return undefined;
      break;
    case 'identify':
      if (!optionalString(present('userId')) || !optionalRecord(present('traits'))) return undefined;
      break;
    case 'group':
      if (!optionalString(present('userId')) || !nonEmptyString(input['groupId']) || !optionalRecord(present('traits'))) return undefined;
      break;
    case 'alias':
      if (!nonEmptyString(input['userId']) || !nonEmptyString(input['previousId'])) return undefined;
      break;
  }
  // Every message but alias names someone, except a consent change (`requireIdentity`).
  if (type !== 'alias' && absent(present('anonymousId')) && absent(present('userId')) && !(type === 'track' && input['event'] === CONSENT_UPDATED_EVENT)) {
    return undefined;
  }
  if (nulls === undefined) return input as Message;
  const copy: Json = { ...input };
  for (const key of nulls) copy[key] = undefined;
  return copy as Message;
}

/**
 * An object as JSON.parse makes it, without an own `__proto__` key (which zod leaves out of
 * the objects it copies, so such an object is zod's to read).
 */
function isPlain(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype && !Object.hasOwn(value, '__proto__');
}

function optionalRecord(value: unknown): boolean {
  return value === undefined || isPlain(value);
}

function optionalString(value: unknown): boolean {
  return value === undefined || typeof value === 'string';
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function absent(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

function optionalNumber(value: unknown, least: number, inclusive: boolean): boolean {
  if (value === undefined) return true;
  return typeof value === 'number' && Number.isFinite(value) && (inclusive ? value >= least : value > least);
}

function optionalInteger(value: unknown, least: number, inclusive: boolean): boolean {
  return value === undefined || (optionalNumber(value, least, inclusive) && Number.isInteger(value));
}

function onlyStrings(record: Json, keys: readonly string[]): boolean {
  for (const key of keys) if (!optionalString(record[key])) return false;
  return true;
}

const PAGE_FIELDS = ['path', 'referrer', 'search', 'title', 'url'];
const CAMPAIGN_FIELDS = ['name', 'source', 'medium', 'term', 'content'];
const LIBRARY_FIELDS = ['name', 'version'];
const CONTEXT_TEXT_FIELDS = ['userAgent', 'locale', 'timezone', 'ip'];

/** `Context` in context.ts: each known field absent or of its type. */
function commonContext(value: unknown): boolean {
  if (!isPlain(value) || !onlyStrings(value, CONTEXT_TEXT_FIELDS)) return false;
  const { page, screen, campaign, consent, library } = value;
  if (page !== undefined && !(isPlain(page) && onlyStrings(page, PAGE_FIELDS))) return false;
  if (campaign !== undefined && !(isPlain(campaign) && onlyStrings(campaign, CAMPAIGN_FIELDS))) return false;
  if (library !== undefined && !(isPlain(library) && onlyStrings(library, LIBRARY_FIELDS))) return false;
  if (screen !== undefined) {
    if (!isPlain(screen)) return false;
    if (!optionalNumber(screen['width'], 0, true) || !optionalNumber(screen['height'], 0, true) || !optionalNumber(screen['density'], 0, false)) return false;
  }
  if (consent !== undefined) {
    if (!isPlain(consent)) return false;
    const { categoryPreferences: preferences, category, gpc } = consent;
    if (!isPlain(preferences)) return false;
    for (const key in preferences) if (typeof preferences[key] !== 'boolean') return false;
    if (!(category === undefined || nonEmptyString(category)) || !(gpc === undefined || typeof gpc === 'boolean')) return false;
  }
  return true;
}

/*
 * RFC 3339 in the one form `IsoDateTime` writes back unchanged: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`
 * on a day that exists, year 0001 or later, second 59 at most. Anything else (offsets, a
 * lower-case `t`, a leap second) is zod's to normalise or refuse.
 */
const CANONICAL_DATE_TIME = /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?Z$/;

function dateTime(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'string') return false;
  const match = CANONICAL_DATE_TIME.exec(value);
  if (!match) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (year === 0) return false;
  if (day <= 28) return true;
  const days = month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return day <= days;
}

const PRODUCT_TEXT_FIELDS = ['category', 'name', 'brand', 'variant', 'coupon', 'url', 'image_url'];
const CURRENCY = /^[A-Za-z]{3}$/;

function optionalNonEmpty(value: unknown): boolean {
  return value === undefined || nonEmptyString(value);
}

function optionalCurrency(value: unknown): boolean {
  return value === undefined || (typeof value === 'string' && CURRENCY.test(value));
}

function optionalMoney(value: unknown): boolean {
  return optionalNumber(value, 0, true);
}

/** `productFields` of ecommerce.ts. */
function productFieldsPass(record: Json): boolean {
  return (
    optionalNonEmpty(record['product_id']) &&
    optionalNonEmpty(record['sku']) &&
    onlyStrings(record, PRODUCT_TEXT_FIELDS) &&
    optionalMoney(record['price']) &&
    optionalInteger(record['quantity'], 0, false) &&
    optionalInteger(record['position'], 0, true)
  );
}

/** A product of `products[]` (`Product`): its fields, and a product_id or a sku. */
function productPasses(value: unknown): boolean {
  return isPlain(value) && productFieldsPass(value) && (value['product_id'] !== undefined || value['sku'] !== undefined);
}

function optionalProducts(value: unknown): boolean {
  if (value === undefined) return true;
  if (!Array.isArray(value)) return false;
  for (const product of value) if (!productPasses(product)) return false;
  return true;
}

/** `orderFields` of ecommerce.ts. */
function orderFieldsPass(record: Json): boolean {
  return (
    optionalNonEmpty(record['order_id']) &&
    optionalString(record['affiliation']) &&
    optionalString(record['coupon']) &&
    optionalMoney(record['value']) &&
    optionalMoney(record['revenue']) &&
    optionalMoney(record['shipping']) &&
    optionalMoney(record['tax']) &&
    optionalMoney(record['discount']) &&
    optionalCurrency(record['currency']) &&
    optionalProducts(record['products'])
  );
}

/**
 * Whether a track event's properties pass the strict schema of its spec event (spec-events.ts),
 * for the e-commerce events; other spec events (and any added later) are zod's to check. True
 * for a name that is not a spec event's.
 */
function specPropertiesPass(event: string, properties: Json): boolean {
  if (!isSpecEventName(event)) return true;
  switch (event) {
    case 'Product Viewed':
      return productPasses(properties) && optionalCurrency(properties['currency']) && optionalMoney(properties['value']);
    case 'Product Added':
    case 'Product Removed':
      return productPasses(properties) && optionalString(properties['cart_id']) && optionalCurrency(properties['currency']);
    case 'Cart Viewed':
      return (
        optionalString(properties['cart_id']) &&
        optionalCurrency(properties['currency']) &&
        optionalMoney(properties['value']) &&
        optionalProducts(properties['products'])
      );
    case 'Checkout Started':
      return orderFieldsPass(properties);
    case 'Order Completed':
      return (
        orderFieldsPass(properties) &&
        nonEmptyString(properties['order_id']) &&
        optionalString(properties['checkout_id']) &&
        optionalMoney(properties['subtotal']) &&
        optionalMoney(properties['total'])
      );
    default:
      return false;
  }
}
