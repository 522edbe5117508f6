/**
 * IPv4 address and CIDR arithmetic for the region catalog: which subnet an
 * address belongs to, whether two subnets overlap. Addresses are handled as
 * unsigned 32-bit integers so a comparison is two instructions, not a parse.
 */
import { isIP } from 'node:net';

export interface Ipv4Subnet {
  /** Network address as an unsigned 32-bit integer (host bits cleared). */
  readonly network: number;
  /** Prefix length, 0..32. */
  readonly prefix: number;
  /** Netmask as an unsigned 32-bit integer. */
  readonly mask: number;
  /** Canonical text form, e.g. `127.0.1.0/24`. */
  readonly text: string;
}

/** Dotted-quad IPv4 to an unsigned 32-bit integer; undefined when not IPv4. */
export function ipv4ToInt(address: string): number | undefined {
  if (isIP(address) !== 4) return undefined;
  let n = 0;
  for (const part of address.split('.')) n = n * 256 + Number(part);
  return n >>> 0;
}

export function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parse `a.b.c.d/len`. Host bits must be zero, so `127.0.1.5/24` is refused
 * rather than silently widened: a typo in a subnet would move a region.
 */
export function parseIpv4Subnet(text: string): Ipv4Subnet | undefined {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(text);
  if (m === null) return undefined;
  const base = ipv4ToInt(m[1] ?? '');
  const prefix = Number(m[2]);
  if (base === undefined || prefix > 32) return undefined;
  const mask = maskOf(prefix);
  if (((base & mask) >>> 0) !== base) return undefined;
  return { network: base, prefix, mask, text: `${intToIpv4(base)}/${prefix}` };
}

export function subnetContains(subnet: Ipv4Subnet, address: number): boolean {
  return ((address & subnet.mask) >>> 0) === subnet.network;
}

/** Two CIDR blocks overlap exactly when one contains the other's network address. */
export function subnetsOverlap(a: Ipv4Subnet, b: Ipv4Subnet): boolean {
  return a.prefix <= b.prefix ? subnetContains(a, b.network) : subnetContains(b, a.network);
}
