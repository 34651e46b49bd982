import { isIPv4, isIPv6 } from 'node:net';
import { createAddressMatcher, normalizeAddress } from '../../libs/edge-auth/address-list.js';

export { normalizeAddress };

/**
 * The device's address: the socket peer, or — only when that peer is a trusted proxy — the
 * right-most X-Forwarded-For entry that is not itself a trusted proxy. Anything else would let
 * a device write its own address.
 */
export function createClientAddressResolver(trustedProxies: string[]): (peer: string | undefined, forwardedFor: string | undefined) => string {
  if (trustedProxies.length === 0) return (peer) => normalizeAddress(peer ?? 'unknown');
  const isTrusted = createAddressMatcher(trustedProxies);
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
