import { BlockList, isIPv4, isIPv6 } from 'node:net';

/**
 * Membership in a list of IPs and CIDRs ("10.0.0.0/8, 192.0.2.7, 2001:db8::/32"). An IPv4 entry
 * also matches its IPv4-mapped IPv6 spelling ("::ffff:10.0.0.5").
 */
export function createAddressMatcher(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, bits] = entry.split('/') as [string, string | undefined];
    const family = isIPv6(address) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return (address) => {
    const plain = normalizeAddress(address);
    if (isIPv4(plain)) return list.check(plain, 'ipv4');
    if (isIPv6(plain)) return list.check(plain, 'ipv6');
    return false;
  };
}

/** "::ffff:10.0.0.5" → "10.0.0.5", so allow-lists and logs see one spelling per device. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}
