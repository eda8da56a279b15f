import { createHash } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js';
import type { Source } from '../config.js';
import { isPlaceholderId } from '../identity/placeholder-ids.js';
import { prepareItems } from '../ingest/prepare.js';
import type { EventRecord } from '../ingest/records.js';
import { findUnstorable } from '../ingest/storable.js';
import { looksLikeEmail, normaliseBirthDate, normaliseEmail, normaliseName, normalisePhone, normalisePostcode } from './normalise.js';

/** One row of an import as read: a CSV row (strings) or one JSON line (any JSON values), with its line. */
export interface ImportRow {
  line: number;
  values: Record<string, unknown>;
}

/** The values a record is matched on, normalised (see `normalise.ts`). */
export interface MatchKeys {
  userId: string | null;
  email: string | null;
  phone: string | null;
  name: string | null;
  postcode: string | null;
  birthDate: string | null;
}

/** An order of the record: its `Order Completed` event, validated and enriched as the collector does any event. */
export interface ImportedOrder {
  orderId: string;
  /** The event, without its customer; its userId is the record's, else its anonymousId is set when the customer is known. */
  event: EventRecord;
}

/** A row read as a customer record, ready to be matched and applied. */
export interface CustomerRecord {
  line: number;
  /** sha-256 of the row's content and the importing source: the same row imported again has the same one. */
  fingerprint: string;
  keys: MatchKeys;
  /** The traits the record sets, named as identify traits are (Segment's spec: `email`, `address.postalCode`, …). */
  traits: Record<string, unknown>;
  order: ImportedOrder | null;
}

/** A row that cannot be imported, and why. */
export interface RowError {
  line: number;
  reason: string;
}

export interface RecordOptions {
  /** The source the import writes as (events' `source_id`, traits' source): a server source. */
  source: Source;
  /** The country of phone numbers written without a country code. */
  defaultCountry?: CountryCode | undefined;
  /** The time of the import: the timestamp of orders without a date. */
  importedAt: Date;
}

// Column names are compared lower-cased with everything but letters and digits removed, so
// `E-mail`, `email` and `EMAIL_ADDRESS` … each name one field. Any other column is a trait.
const FIELDS = {
  userId: ['userid', 'user'],
  email: ['email', 'emailaddress', 'mail'],
  phone: ['phone', 'phonenumber', 'mobile', 'telephone'],
  firstName: ['firstname', 'givenname'],
  lastName: ['lastname', 'surname', 'familyname'],
  name: ['name', 'fullname'],
  street: ['street', 'streetaddress', 'address', 'addressline1'],
  city: ['city', 'town'],
  postcode: ['postcode', 'postalcode', 'zip', 'zipcode'],
  country: ['country', 'countrycode'],
  birthDate: ['birthdate', 'birthday', 'dateofbirth', 'dob'],
  orderId: ['orderid'],
  total: ['total', 'ordertotal', 'revenue'],
  currency: ['currency'],
  orderDate: ['orderdate', 'orderedat', 'ordertime'],
  items: ['items', 'products', 'orderitems'],
} as const;
type Field = keyof typeof FIELDS;

const FIELD_OF = new Map<string, Field>(Object.entries(FIELDS).flatMap(([field, names]) => names.map((name) => [name, field as Field])));

/**
 * Reads one row as a customer record, or says why it cannot be imported: an unusable userId, an
 * e-mail, phone or birth date that is not one, nothing to recognise the person by, or an order
 * that is not a valid `Order Completed` event. The order's items are a JSON array in one column
 * (`items`), each item a Segment product (`product_id` or `sku`, `price`, `quantity`, …).
 *
 * @example
 * readCustomerRecord({ line: 2, values: { email: ' Ann@Example.com', order_id: 'o-1', total: '19.90', currency: 'EUR' } }, options);
 */
export function readCustomerRecord(row: ImportRow, options: RecordOptions): CustomerRecord | RowError {
  const given: Partial<Record<Field, unknown>> = {};
  const custom: Record<string, unknown> = {};
  for (const [column, raw] of Object.entries(row.values)) {
    const value = typeof raw === 'string' ? raw.trim() : raw;
    if (value === '' || value === null || value === undefined) continue;
    const field = FIELD_OF.get(column.toLowerCase().replace(/[^a-z0-9]/g, ''));
    if (field === undefined) setOwn(custom, column.trim(), value);
    else if (given[field] !== undefined) return { line: row.line, reason: `${column}: the ${field} is given by two columns` };
    else given[field] = value;
  }
  const error = (reason: string): RowError => ({ line: row.line, reason });
  const unstorable = findUnstorable(row.values);
  if (unstorable) return error(unstorable);

  const text = (field: Field): string | null | RowError => {
    const value = given[field];
    if (value === undefined) return null;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return error(`${field}: expected text, got ${JSON.stringify(value)}`);
  };
  const fields = {} as Record<Exclude<Field, 'items' | 'total'>, string | null>;
  for (const field of Object.keys(FIELDS) as Field[]) {
    if (field === 'items' || field === 'total') continue;
    const value = text(field);
    if (typeof value === 'object' && value !== null) return value;
    fields[field] = value;
  }

  if (fields.userId !== null && isPlaceholderId(fields.userId)) return error(`userId: "${fields.userId}" is a placeholder, not anyone's id`);
  const email = fields.email === null ? null : normaliseEmail(fields.email);
  if (email !== null && !looksLikeEmail(email)) return error(`email: "${fields.email}" is not an e-mail address`);
  const phone = fields.phone === null ? null : normalisePhone(fields.phone, options.defaultCountry);
  if (fields.phone !== null && phone === null) {
    return error(`phone: "${fields.phone}" is not a phone number${options.defaultCountry ? ` (numbers without a country code are read as ${options.defaultCountry})` : ' (without a country code, and no default country was given)'}`);
  }
  const birthDate = fields.birthDate === null ? null : normaliseBirthDate(fields.birthDate);
  if (fields.birthDate !== null && birthDate === null) return error(`birthDate: "${fields.birthDate}" is not a date written YYYY-MM-DD`);
  const fullName = fields.name ?? ([fields.firstName, fields.lastName].filter((part) => part !== null).join(' ') || null);
  const keys: MatchKeys = {
    userId: fields.userId,
    email,
    phone,
    name: fullName === null ? null : normaliseName(fullName),
    postcode: fields.postcode === null ? null : normalisePostcode(fields.postcode),
    birthDate,
  };
  if (keys.userId === null && keys.email === null && keys.phone === null && keys.name === null) {
    return error('no userId, e-mail, phone or name: nothing to recognise the customer by');
  }

  const traits: Record<string, unknown> = { ...custom };
  const set = (key: string, value: unknown) => value !== null && value !== undefined && setOwn(traits, key, value);
  set('email', email);
  set('phone', phone);
  set('firstName', fields.firstName);
  set('lastName', fields.lastName);
  set('name', fullName);
  set('birthday', birthDate);
  const address: Record<string, string> = {};
  for (const [field, key] of [['street', 'street'], ['city', 'city'], ['postcode', 'postalCode'], ['country', 'country']] as const) {
    if (fields[field] !== null) address[key] = fields[field];
  }
  if (Object.keys(address).length > 0) traits.address = address;

  const order = readOrder(given, fields, keys.userId, options);
  if ('reason' in order) return error(order.reason);

  return {
    line: row.line,
    fingerprint: fingerprintOf(row.values, options.source.id),
    keys,
    traits,
    order: order.order,
  };
}

function readOrder(
  given: Partial<Record<Field, unknown>>,
  fields: Record<'orderId' | 'currency' | 'orderDate', string | null>,
  userId: string | null,
  options: RecordOptions,
): { order: ImportedOrder | null } | { reason: string } {
  const any = fields.orderId !== null || given.total !== undefined || given.items !== undefined || fields.currency !== null || fields.orderDate !== null;
  if (!any) return { order: null };
  if (fields.orderId === null) return { reason: 'order_id: required when the row has an order (total, currency, items or order date)' };

  let timestamp = options.importedAt.toISOString();
  if (fields.orderDate !== null) {
    const ms = Date.parse(fields.orderDate);
    if (Number.isNaN(ms)) return { reason: `order_date: "${fields.orderDate}" is not a date` };
    timestamp = new Date(ms).toISOString();
  }
  const properties: Record<string, unknown> = { order_id: fields.orderId };
  if (given.total !== undefined) {
    // A CSV cell is text: a plain decimal number is read as one; anything else is left for the schema to refuse.
    const total = typeof given.total === 'string' && /^-?\d+(\.\d+)?$/.test(given.total) ? Number(given.total) : given.total;
    properties.total = total;
    properties.revenue = total;
  }
  if (fields.currency !== null) properties.currency = fields.currency;
  if (given.items !== undefined) {
    let items = given.items;
    if (typeof items === 'string') {
      try {
        items = JSON.parse(items);
      } catch {
        return { reason: 'items: expected a JSON array of products, such as [{"sku":"G-32","price":9.5,"quantity":2}]' };
      }
    }
    properties.products = items;
  }
  // The order goes through the collector's validation and enrichment as any Order Completed
  // event would. Without a userId it is attributed by an anonymousId of the customer, known
  // only once the record is matched (see `import-store.ts`); any id validates the same way.
  const message = { type: 'track', event: 'Order Completed', messageId: orderMessageId(fields.orderId), timestamp, properties };
  const prepared = prepareItems([userId === null ? { ...message, anonymousId: PENDING_ANONYMOUS_ID } : { ...message, userId }], {
    source: options.source,
    request: { receivedAt: options.importedAt, ip: undefined, userAgent: undefined },
    skewThresholdMs: Number.MAX_SAFE_INTEGER,
    pathPrefix: '',
  });
  const event = prepared.events[0];
  if (event === undefined) return { reason: prepared.rejectedItems[0]?.message ?? 'the order was refused' };
  return { order: { orderId: fields.orderId, event } };
}

const PENDING_ANONYMOUS_ID = 'import-pending';

/**
 * The messageId of an imported order's `Order Completed` event: derived from the order id
 * alone, so that importing the order again stores nothing new.
 *
 * @example
 * orderMessageId('o-1001') // 'import-order-o-1001'
 */
export function orderMessageId(orderId: string): string {
  return `import-order-${orderId}`;
}

function fingerprintOf(values: Record<string, unknown>, sourceId: string): string {
  let text = sourceId;
  for (const key of Object.keys(values).sort()) {
    const value = values[key];
    const written = typeof value === 'string' ? value.trim() : JSON.stringify(value ?? null);
    if (written === '' || written === 'null') continue;
    text += `\0${key}\0${written}`;
  }
  return createHash('sha256').update(text).digest('hex');
}

// A column named `__proto__` is an ordinary trait to a CRM; plain assignment would not store it.
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
