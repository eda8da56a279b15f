/**
 * Size limits of the wire format (the Segment HTTP tracking API limits) and the
 * byte count they are measured with (docs/design.md §1). The SDK keeps its own copy,
 * held to these by `sdk-web/src/limits-agreement.test.ts`.
 */

/**
 * Largest accepted event, in UTF-8 bytes of its JSON encoding (32 KB).
 *
 * @example
 * if (encodedSize(event) > MAX_EVENT_BYTES) console.warn('event too large');
 */
export const MAX_EVENT_BYTES = 32 * 1024;

/**
 * Largest accepted batch request body, in UTF-8 bytes of its JSON encoding (500 KB).
 *
 * @example
 * const fits = encodedSize({ batch: queued }) <= MAX_BATCH_BYTES;
 */
export const MAX_BATCH_BYTES = 500 * 1024;

/**
 * Most events one batch request may carry.
 *
 * @example
 * const chunk = queue.slice(0, MAX_BATCH_EVENTS);
 */
export const MAX_BATCH_EVENTS = 2500;

/**
 * UTF-8 byte length of `JSON.stringify(value)`: the size a value has on the wire.
 * A value JSON cannot represent (`undefined`, a function) measures 0.
 * Throws like `JSON.stringify` does for a cycle or a BigInt.
 *
 * @example
 * encodedSize({ name: 'é' }); // 13: `{"name":"é"}` is 12 characters, é takes 2 bytes
 */
export function encodedSize(value: unknown): number {
  return encodeJson(value)?.bytes ?? 0;
}

/**
 * `JSON.stringify(value)` and its UTF-8 byte length, for a caller that needs the text too
 * (the collector checks it for what Postgres cannot store); undefined for a value JSON cannot
 * represent. Throws like `JSON.stringify` does for a cycle or a BigInt.
 *
 * @example
 * encodeJson({ name: 'é' }); // { json: '{"name":"é"}', bytes: 13 }
 */
export function encodeJson(value: unknown): { json: string; bytes: number } | undefined {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) return undefined;
  // Most events are plain ASCII, where bytes equal characters; a native regex test is
  // far cheaper than counting character by character.
  return { json, bytes: NON_ASCII.test(json) ? utf8Length(json) : json.length };
}

/**
 * `encodeJson`, or undefined where it would throw: a cycle, a BigInt, or nesting deeper than
 * `JSON.stringify` can follow on the stack (which `JSON.parse` still reads).
 *
 * @example
 * tryEncodeJson(JSON.parse('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000))); // undefined
 */
export function tryEncodeJson(value: unknown): { json: string; bytes: number } | undefined {
  try {
    return encodeJson(value);
  } catch {
    return undefined;
  }
}

const NON_ASCII = /[^\x00-\x7f]/;

/** UTF-8 byte length of a string, counted without allocating an encoded copy. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Formats a count with thousands separators, the way limits are written in errors.
 *
 * @example
 * formatCount(32768); // '32,768'
 */
export function formatCount(n: number): string {
  const [whole = '', fraction] = String(n).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}
