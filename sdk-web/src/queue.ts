/** Size limits of the wire format and the split of serialized events into requests. */

export const MAX_EVENT_BYTES = 32 * 1024;
export const MAX_BATCH_BYTES = 500 * 1024;
export const MAX_BATCH_EVENTS = 2500;
/** What a browser lets a page keep in flight with `keepalive` or `sendBeacon`. */
export const KEEPALIVE_BYTES = 64 * 1024;
/** Room left in a request for `{"batch":[…],"sentAt":…,"writeKey":…}` around the events. */
export const ENVELOPE_BYTES = 512;

const encoder = /* @__PURE__ */ new TextEncoder();

/** UTF-8 byte length of a string. */
export const bytes = (s: string): number => encoder.encode(s).length;

/**
 * Splits serialized events into request-sized groups of at most `max` bytes of events
 * (and {@link MAX_BATCH_EVENTS} events), keeping their order.
 */
export function chunk(events: string[], max: number): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let size = 0;
  for (const e of events) {
    const n = bytes(e) + 1;
    if (cur.length && (size + n > max || cur.length >= MAX_BATCH_EVENTS)) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(e);
    size += n;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** The request body: the events as they were serialized, the send time and the write key. */
export const envelope = (events: string[], writeKey: string, now: Date): string =>
  `{"batch":[${events.join()}],"sentAt":"${now.toISOString()}","writeKey":${JSON.stringify(writeKey)}}`;
