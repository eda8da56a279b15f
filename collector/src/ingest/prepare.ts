import { createHash } from 'node:crypto';
import { encodeJson, isAcceptedInstant, MAX_EVENT_BYTES, parseMessage } from '@tally/schemas';
import type { Source } from '../config.js';
import { decideIdentityTrust } from '../identity/source-trust.js';
import { decideConsent } from './consent.js';
import { enrichEvent, type RequestFacts } from './enrich.js';
import type { EventRecord, RejectedRecord, RejectionReason } from './records.js';
import { consentRefusal, keptRejection } from './rejections.js';
import { findUnstorable, mayBeUnstorable } from './storable.js';

/** A refused item as the response lists it. */
export interface RejectedItem {
  index: number;
  messageId: string | null;
  reason: RejectionReason;
  message: string;
}

export interface PreparedItems {
  events: EventRecord[];
  rejected: RejectedRecord[];
  /** The same refusals, in request order, as the response names them. */
  rejectedItems: RejectedItem[];
  /** The item index of each of `events`. */
  eventIndexes: number[];
  /** Events stored without their userId, which their source could not vouch for (see `decideIdentityTrust`). */
  identityRefused: RejectedItem[];
}

export interface PrepareOptions {
  source: Source;
  request: RequestFacts;
  skewThresholdMs: number;
  /** A batch's own `context`, merged under each item's (the item's fields win). */
  batchContext?: Record<string, unknown> | undefined;
  /** A batch's own `sentAt`, for items that carry none. */
  batchSentAt?: string | undefined;
  /** Prefix of error paths: `batch` for a batch request, '' for a single message. */
  pathPrefix: string;
  /** The JSON text of the whole batch the items came in and its size (`encodeJson`), when the caller has it. */
  encodedBatch?: { json: string; bytes: number } | undefined;
}

/**
 * Validates, checks consent and storability of, and enriches each item of a request on its
 * own (docs/design.md §1, §2, §4): what passes becomes an `events` row, what fails a
 * `rejected_events` row with its reason and a capped excerpt — or, refused for consent, only
 * a count — so one bad item never costs the others.
 *
 * @example
 * const { events, rejected, rejectedItems } = prepareItems(body.batch, { source, request, skewThresholdMs: 60_000, pathPrefix: 'batch' });
 */
export function prepareItems(items: readonly unknown[], options: PrepareOptions): PreparedItems {
  const prepared: PreparedItems = { events: [], rejected: [], rejectedItems: [], eventIndexes: [], identityRefused: [] };
  const { source, request, encodedBatch } = options;
  // What the batch's text tells of all its items at once: an item sent unchanged is no larger
  // than the batch, and no item, even merged with the batch's fields (which are in that text
  // too), holds what Postgres cannot store unless the text does.
  const batchFitsEvent = encodedBatch !== undefined && encodedBatch.bytes <= MAX_EVENT_BYTES;
  const batchStorable = encodedBatch !== undefined && !mayBeUnstorable(encodedBatch.json);
  items.forEach((item, index) => {
    const refuse = (record: RejectedRecord, reason: RejectionReason, errors: string[]) => {
      prepared.rejected.push(record);
      prepared.rejectedItems.push({ index, messageId: messageIdOf(item), reason, message: errors.join('; ') });
    };
    const reject = (reason: Exclude<RejectionReason, 'consent'>, errors: string[]) =>
      refuse(keptRejection(item, messageIdOf(item), reason, errors, source, request.receivedAt), reason, errors);
    const path = options.pathPrefix ? `${options.pathPrefix}[${index}]` : '';
    const merged = withBatchFields(item, options);
    // An item sent unchanged is measured by the batch's size; otherwise one encoding of the
    // item serves the size limit and the storability check.
    const boundFromBatch = merged === item && batchFitsEvent ? encodedBatch.bytes : undefined;
    const encoded = boundFromBatch !== undefined && batchStorable ? undefined : encodeOnce(merged);
    const result = parseMessage(merged, path, encoded?.bytes ?? boundFromBatch);
    if (!result.success) return reject(result.reason, result.errors);
    const message = result.data as unknown as Record<string, unknown>;

    const unstorable = batchStorable || (encoded && !mayBeUnstorable(encoded.json)) ? undefined : findUnstorable(message, path);
    if (unstorable) return reject('unstorable', [unstorable]);
    const badTime = checkInstants(message, path);
    if (badTime) return reject('schema', [badTime]);

    const consent = decideConsent(options.source.consentMode, message.context);
    if (!consent.allowed) {
      return refuse(consentRefusal(source, consent.category, request.receivedAt), 'consent', [path ? `${path}: ${consent.message}` : consent.message]);
    }

    const trust = decideIdentityTrust(message, options.source, path);
    if (trust.outcome === 'refused') return reject(trust.reason, [trust.explanation]);
    if (trust.outcome === 'anonymous_only') {
      prepared.identityRefused.push({ index, messageId: messageIdOf(item), reason: trust.reason, message: trust.explanation });
    }
    prepared.events.push(
      enrichEvent(trust.outcome === 'anonymous_only' ? trust.message : message, options.request, { sourceId: options.source.id, skewThresholdMs: options.skewThresholdMs }),
    );
    prepared.eventIndexes.push(index);
  });
  return prepared;
}

function withBatchFields(item: unknown, options: PrepareOptions): unknown {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return item;
  const record = item as Record<string, unknown>;
  const needsId = record.messageId == null;
  const needsSentAt = Boolean(options.batchSentAt) && record.sentAt == null;
  // Unchanged, the item stays the very object of the batch (prepareItems relies on it).
  if (!options.batchContext && !needsSentAt && !needsId) return item;
  const merged: Record<string, unknown> = { ...record };
  // Segment's HTTP API makes messageId optional. A missing one is derived from the source and
  // the item itself, so that a retry of the same call is still recognised as a duplicate.
  if (needsId) merged.messageId = `derived-${createHash('sha256').update(options.source.id).update('\0').update(JSON.stringify(record)).digest('hex').slice(0, 32)}`;
  if (options.batchContext) {
    const own = record.context;
    merged.context =
      typeof own === 'object' && own !== null && !Array.isArray(own) ? { ...options.batchContext, ...own } : { ...options.batchContext };
  }
  if (needsSentAt) merged.sentAt = options.batchSentAt;
  return merged;
}

/** The item's JSON text and size; undefined when JSON cannot encode it (`parseMessage` says why). */
function encodeOnce(item: unknown): { json: string; bytes: number } | undefined {
  try {
    return encodeJson(item);
  } catch {
    return undefined;
  }
}

function checkInstants(message: Record<string, unknown>, path: string): string | undefined {
  for (const field of ['timestamp', 'sentAt', 'originalTimestamp'] as const) {
    const value = message[field];
    if (typeof value !== 'string') continue;
    const ms = Date.parse(value);
    const where = path ? `${path}.${field}` : field;
    if (Number.isNaN(ms)) return `${where}: "${value}" is not a real date-time`;
    // docs/design.md §1: the accepted time range is defined once, in @tally/schemas.
    if (!isAcceptedInstant(ms)) return `${where}: "${value}" lies outside the years 0001–9999`;
  }
  return undefined;
}

function messageIdOf(item: unknown): string | null {
  if (typeof item !== 'object' || item === null) return null;
  const id = (item as Record<string, unknown>).messageId;
  return typeof id === 'string' && id !== '' ? id : null;
}
