import { Batch } from './batch.js';
import { isRecord } from './common.js';
import { readCommonShape } from './common-shapes.js';
import { IsoDateTime } from './date-time.js';
import { describeValue, formatIssues, formatPath } from './errors.js';
import { encodedSize, formatCount, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES } from './limits.js';
import { type Message, MESSAGE_SCHEMAS, MESSAGE_TYPES, type MessageType } from './message.js';

/**
 * The outcome of a validation: the parsed value (with `warnings` for what was ignored in
 * it), or the list of problems in words a person can act on and why the value was refused
 * (`schema`: it does not match the wire format; `too_large`: it passes a size limit).
 *
 * @example
 * const result: ValidationResult<Message> = parseMessage(body);
 * if (!result.success) console.log(result.reason, result.errors.join('\n'));
 */
export type ValidationResult<T> =
  | { success: true; data: T; warnings?: string[] }
  | { success: false; errors: string[]; reason: 'schema' | 'too_large' };

function fail<T>(reason: 'schema' | 'too_large', errors: string[]): ValidationResult<T> {
  return { success: false, errors, reason };
}

function at(path: string, message: string): string {
  return path === '' ? message : `${path}: ${message}`;
}

/** Encoded size, or undefined for a value JSON cannot encode (a cycle, a BigInt). */
function safeEncodedSize(value: unknown): number | undefined {
  try {
    return encodedSize(value);
  } catch {
    return undefined;
  }
}

function isMessageType(value: unknown): value is MessageType {
  return typeof value === 'string' && (MESSAGE_TYPES as readonly string[]).includes(value);
}

/**
 * Validates one message: first its size against the 32 KB limit, then the schema of
 * its `type`, including the strict properties of spec events (`Order Completed`, …).
 * Never throws; `path` prefixes every error (`batch[3]`). `encodedBytes`, when the caller
 * already encoded `input` (`encodeJson`), saves encoding it again; a caller that knows only a
 * bound of that size no larger than `MAX_EVENT_BYTES` (the size of a batch holding `input`
 * unchanged) may pass the bound, which gives the same answer. The data may be `input` itself
 * (or share its objects): treat it as read-only.
 *
 * @example
 * const result = parseMessage(item, 'batch[3]');
 * // { success: false, reason: 'schema',
 * //   errors: ['batch[3].properties.price: expected a number, got "12,99"'] }
 */
export function parseMessage(input: unknown, path = '', encodedBytes?: number): ValidationResult<Message> {
  const size = encodedBytes ?? safeEncodedSize(input);
  if (size === undefined) return fail('schema', [at(path, 'is not JSON: it holds a cycle or a value JSON cannot encode')]);
  if (size > MAX_EVENT_BYTES) {
    return fail('too_large', [at(path, `event is ${formatCount(size)} bytes; the limit is ${formatCount(MAX_EVENT_BYTES)}`)]);
  }
  if (!isRecord(input)) return fail('schema', [at(path, `expected a message object, got ${describeValue(input)}`)]);
  const type = input['type'];
  if (!isMessageType(type)) {
    const allowed = MESSAGE_TYPES.map((t) => `"${t}"`).join(', ');
    const problem = type === undefined ? `required, expected one of ${allowed}` : `expected one of ${allowed}, got ${describeValue(type)}`;
    return fail('schema', [`${formatPath(path, ['type'])}: ${problem}`]);
  }
  // The common shapes are read without zod's copies (common-shapes.ts); zod decides and
  // explains the rest. Received values for its errors are looked up in `input`.
  const common = readCommonShape(input, type);
  if (common !== undefined) return { success: true, data: common };
  const result = MESSAGE_SCHEMAS[type].safeParse(input);
  if (!result.success) return fail('schema', formatIssues(result.error, path, input));
  return { success: true, data: result.data };
}

/**
 * Validates the envelope of a batch request: its size (500 KB), its item count
 * (2,500) and its own fields. The items themselves are left to `parseMessage`, one by
 * one, so that one bad item does not refuse the others. A `sentAt` that is not a valid
 * date-time refuses nothing: it is dropped and named in `warnings`. Never throws.
 * `encodedBytes`, when the caller already encoded `input` (`encodeJson`), saves encoding it again.
 *
 * @example
 * const envelope = parseBatch(body);
 * if (envelope.success) {
 *   envelope.data.batch.forEach((item, i) => parseMessage(item, `batch[${i}]`));
 * }
 */
export function parseBatch(input: unknown, encodedBytes?: number): ValidationResult<Batch> {
  const size = encodedBytes ?? safeEncodedSize(input);
  if (size === undefined) return fail('schema', ['the batch is not JSON: it holds a cycle or a value JSON cannot encode']);
  if (size > MAX_BATCH_BYTES) {
    return fail('too_large', [`the batch is ${formatCount(size)} bytes; the limit is ${formatCount(MAX_BATCH_BYTES)}`]);
  }
  if (!isRecord(input)) return fail('schema', [`expected a batch object such as {"batch":[…]}, got ${describeValue(input)}`]);
  const items = input['batch'];
  if (Array.isArray(items) && items.length > MAX_BATCH_EVENTS) {
    return fail('too_large', [
      `batch: holds ${formatCount(items.length)} events; the limit is ${formatCount(MAX_BATCH_EVENTS)}`,
    ]);
  }
  const sentAt = readEnvelopeSentAt(input['sentAt']);
  const envelope = sentAt.usable ? input : { ...input, sentAt: undefined };
  const result = Batch.safeParse(envelope);
  if (!result.success) return fail('schema', formatIssues(result.error, '', envelope));
  return sentAt.warning === undefined ? { success: true, data: result.data } : { success: true, data: result.data, warnings: [sentAt.warning] };
}

/*
 * The envelope's `sentAt` serves only to correct client clock skew: one that is not a valid
 * date-time switches that correction off for the batch, with a warning, and costs no event.
 */
function readEnvelopeSentAt(value: unknown): { usable: boolean; warning?: string } {
  if (value === undefined) return { usable: true };
  if (value === null) return { usable: false };
  const result = IsoDateTime.safeParse(value);
  if (result.success) return { usable: true };
  const [problem] = formatIssues(result.error, 'sentAt', value);
  return { usable: false, warning: `${problem}; ignored, so this batch's timestamps are not corrected for clock skew` };
}
