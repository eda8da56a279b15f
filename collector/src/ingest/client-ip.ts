import { isIP } from 'node:net';

/**
 * Drops the host part of an address before it is stored: IPv4 keeps its /24, IPv6 its /48
 * (an IPv4-mapped IPv6 address is treated as the IPv4 it maps). Anything that is not an
 * address gives `undefined`.
 *
 * @example
 * truncateIp('203.0.113.77');            // '203.0.113.0'
 * truncateIp('2001:db8:85a3:8d3::7334'); // '2001:db8:85a3::'
 */
export function truncateIp(address: string): string | undefined {
  const ip = stripZone(address.trim());
  const version = isIP(ip);
  if (version === 4) return ip.split('.').slice(0, 3).join('.') + '.0';
  if (version !== 6) return undefined;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return truncateIp(mapped[1]!);
  const groups = expandIpv6(ip);
  return `${groups.slice(0, 3).map((g) => g.toString(16)).join(':')}::`;
}

/** The eight 16-bit words of an IPv6 address, `::` and a trailing dotted quad expanded. */
export function expandIpv6(ip: string): number[] {
  let text = ip;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].map((g) => parseInt(g, 16));
}

function stripZone(address: string): string {
  const zone = address.indexOf('%');
  return zone === -1 ? address : address.slice(0, zone);
}
