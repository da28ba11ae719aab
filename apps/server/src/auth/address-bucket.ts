import { isIPv6 } from 'node:net';

/**
 * What per-address limits (sign-in lockout, account requests) count by: an IPv6 address's /64
 * prefix, written `2001:db8:1:2::/64`; anything else as it is — IPv4, IPv4-mapped IPv6
 * (`::ffff:203.0.113.7`, how a dual-stack socket reports an IPv4 client) and `unknown`. A /64 is what
 * one customer line or host gets: its owner can use any of its 2^64 addresses, so counting full
 * addresses would give them a fresh bucket per request, while a /64 is still one subscriber.
 *
 * Two kinds of IPv6 address stand for an IPv4 host, and count as that host:
 * - the NAT64 well-known prefix `64:ff9b::/96` (RFC 6052): behind a stateless translator (SIIT-DC,
 *   464XLAT in front of an IPv6-only server) every IPv4 client arrives as `64:ff9b::<its IPv4>`, all in
 *   one /64 — counted by /64, one client's failures would lock out every IPv4 user;
 * - 6to4 `2002::/16` (RFC 3056): an IPv4 host's site is `2002:<its IPv4>::/48`, 65,536 /64s of its own —
 *   counted by /64, it would get that many buckets.
 *
 * @example throttleAddress('2001:db8:1:2:abcd::9') // '2001:db8:1:2::/64'
 * @example throttleAddress('64:ff9b::c000:221') // '64:ff9b::192.0.2.33'
 */
export function throttleAddress(address: string): string {
  const bare = address.split('%')[0]!; // a zone id (fe80::1%eth0) names the link, not the client
  if (!isIPv6(bare)) return address;
  const hextets = hextetsOf(bare);
  const mapped = hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff;
  if (mapped) return address;
  const hex = (groups: number[]) => groups.map((h) => h.toString(16)).join(':');
  if (hextets[0] === 0x64 && hextets[1] === 0xff9b && hextets.slice(2, 6).every((h) => h === 0))
    return `64:ff9b::${dotted(hextets[6]!, hextets[7]!)}`;
  if (hextets[0] === 0x2002) return `${hex(hextets.slice(0, 3))}::/48`;
  return `${hex(hextets.slice(0, 4))}::/64`;
}

/** Two hextets as a dotted IPv4 address. */
const dotted = (high: number, low: number) => [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function hextetsOf(address: string): number[] {
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const [head = '', tail] = text.split('::');
  if (tail === undefined) return groups(head);
  const left = groups(head);
  const right = groups(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}
