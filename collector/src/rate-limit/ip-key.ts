import { isIPv4, isIPv6 } from 'node:net';
import { expandIpv6 } from '../ingest/client-ip.js';

/**
 * The key an address is limited under: an IPv4 address whole, an IPv6 address cut to its
 * /64, because one subscriber is usually handed a whole /64 and could otherwise rotate
 * through billions of addresses. IPv4-mapped IPv6 (`::ffff:1.2.3.4`) counts as IPv4.
 * Anything that is not an address gives `undefined`.
 *
 * @example
 * ipRateLimitKey('2001:db8:1:2:3:4:5:6'); // '2001:db8:1:2::/64'
 * ipRateLimitKey('203.0.113.9');          // '203.0.113.9'
 */
export function ipRateLimitKey(address: string | undefined, ipv6PrefixLength = 64): string | undefined {
  if (!address) return undefined;
  const trimmed = address.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  if (mapped?.[1] && isIPv4(mapped[1])) return mapped[1];
  if (isIPv4(trimmed)) return trimmed;
  // Zone ids (fe80::1%eth0) name an interface, not a host.
  const bare = trimmed.replace(/%.*$/, '');
  if (!isIPv6(bare)) return undefined;
  const groups = expandIpv6(bare);
  const kept = Math.max(0, Math.min(128, ipv6PrefixLength));
  const words: number[] = [];
  for (let i = 0; i < 8; i += 1) {
    const bits = Math.max(0, Math.min(16, kept - i * 16));
    const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    words.push((groups[i] ?? 0) & mask);
  }
  return `${compressIPv6(words)}/${kept}`;
}

function compressIPv6(words: number[]): string {
  // Collapse the longest run of zero words (the canonical form), so that equal prefixes
  // written differently share one key.
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < words.length; ) {
    if (words[i] !== 0) {
      i += 1;
      continue;
    }
    let j = i;
    while (j < words.length && words[j] === 0) j += 1;
    if (j - i > bestLength && j - i > 1) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = words.map((word) => word.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
