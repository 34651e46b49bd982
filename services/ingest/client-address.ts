import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * The device's address: the socket peer, or — only when that peer is a trusted proxy — the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy. Anything else would let
 * a device write its own address.
 */
export function createClientAddressResolver(trustedProxies: string[]): (peer: string | undefined, forwardedFor: string | undefined) => string {
  if (trustedProxies.length === 0) return (peer) => normalizeAddress(peer ?? 'unknown');
  const trusted = new BlockList();
  for (const entry of trustedProxies) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, Number(bits), family);
  }
  const isTrusted = (address: string) => {
    if (isIPv4(address)) return trusted.check(address, 'ipv4');
    if (isIPv6(address)) return trusted.check(address, 'ipv6');
    return false;
  };
  return (peer, forwardedFor) => {
    const direct = normalizeAddress(peer ?? 'unknown');
    if (!forwardedFor || !isTrusted(direct)) return direct;
    const hops = forwardedFor.split(',').map((hop) => normalizeAddress(hop.trim())).filter(Boolean);
    for (let index = hops.length - 1; index >= 0; index--) {
      const hop = hops[index]!;
      if (!isIPv4(hop) && !isIPv6(hop)) return direct;
      if (!isTrusted(hop)) return hop;
    }
    return hops[0] ?? direct;
  };
}

/** "::ffff:10.0.0.5" → "10.0.0.5", so allow-lists and logs see one spelling per device. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}
