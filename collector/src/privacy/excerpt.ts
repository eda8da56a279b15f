import { truncateIp } from '../ingest/client-ip.js';

/** How much of a refused item `rejected_events` keeps, in UTF-8 bytes. */
export const EXCERPT_BYTES = 2048;

// Candidates for an address inside free text: a dotted quad, or hex groups joined by colons
// (with an optional trailing dotted quad). Each candidate is checked as an address before it
// is touched, so times such as 10:00:00 stay as they are.
const ADDRESS_CANDIDATE = /(?:[0-9a-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{1,4})?|\b\d{1,3}(?:\.\d{1,3}){3}\b/gi;
// The longest address text, so that an address cut by the cap is truncated before the cut.
const LONGEST_ADDRESS = 45;

/**
 * Every IP address in a text truncated the way the collector truncates addresses before
 * storing them (`truncateIp`: IPv4 to its /24, IPv6 to its /48).
 *
 * @example
 * truncateAddressesIn('{"ip":"203.0.113.77"}'); // '{"ip":"203.0.113.0"}'
 */
export function truncateAddressesIn(text: string): string {
  return text.replace(ADDRESS_CANDIDATE, (candidate) => truncateIp(candidate) ?? candidate);
}

/**
 * What `rejected_events` keeps of a refused item's JSON text: its first `EXCERPT_BYTES`
 * bytes (never a character cut in half), with every IP address in it truncated.
 *
 * @example
 * excerptOf(JSON.stringify(item)).length <= 2048; // true
 */
export function excerptOf(json: string, bytes = EXCERPT_BYTES): string {
  const head = truncateAddressesIn(json.slice(0, bytes + LONGEST_ADDRESS));
  const buffer = new Uint8Array(bytes);
  const { read } = new TextEncoder().encodeInto(head, buffer);
  return head.slice(0, read);
}
