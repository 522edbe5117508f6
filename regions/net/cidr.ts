/**
 * IPv4 and IPv6 addresses and CIDR blocks as big integers, for destination
 * checks. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2)
 * reaches the IPv4 host a.b.c.d, so it is normalised to that IPv4 address —
 * and a block inside `::ffff:0:0/96` to the IPv4 block it covers — so one
 * IPv4 rule covers both spellings.
 */
import { isIP } from 'node:net';
import { MeshError } from '../core/errors.js';

export type IpFamily = 4 | 6;

export interface IpAddress {
  /** 4 also for IPv4-mapped IPv6 addresses (normalised). */
  readonly family: IpFamily;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: IpFamily;
  /** Network address (host bits zero). */
  readonly network: bigint;
  /** Prefix length: 0..32 for IPv4, 0..128 for IPv6. */
  readonly prefix: number;
  /** As written in the configuration. */
  readonly text: string;
}

const BITS: Record<IpFamily, number> = { 4: 32, 6: 128 };

function parseV4(text: string): bigint {
  let n = 0n;
  for (const part of text.split('.')) n = (n << 8n) | BigInt(Number(part));
  return n;
}

function parseV6(text: string): bigint {
  let s = text;
  // A dotted IPv4 tail (`::ffff:1.2.3.4`) is the last two 16-bit groups.
  const lastColon = s.lastIndexOf(':');
  const tail = s.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = parseV4(tail);
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const groups = (p: string): bigint[] => (p === '' ? [] : p.split(':').map((g) => BigInt(parseInt(g, 16))));
  const gap = s.indexOf('::');
  const head = groups(gap < 0 ? s : s.slice(0, gap));
  const rest = gap < 0 ? [] : groups(s.slice(gap + 2));
  const zeros = gap < 0 ? 0 : 8 - head.length - rest.length;
  let n = 0n;
  for (const g of [...head, ...new Array<bigint>(zeros).fill(0n), ...rest]) n = (n << 16n) | g;
  return n;
}

/** Parse an IPv4 or IPv6 address (IPv6 brackets and zone id allowed); undefined when it is neither. */
export function parseIp(text: string): IpAddress | undefined {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const family = isIP(s);
  if (family === 4) return { family: 4, value: parseV4(s) };
  if (family !== 6) return undefined;
  const value = parseV6(s);
  if (value >> 32n === 0xffffn) return { family: 4, value: value & 0xffffffffn };
  return { family: 6, value };
}

/**
 * Parse `address/prefix`, or a bare address (a single host: /32 or /128).
 * Host bits must be zero, so `10.0.0.1/8` is refused rather than silently
 * widened: a typo in a deny list would otherwise open or close a range.
 * Throws MeshError('BAD_REQUEST') saying what is wrong.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const s = addrText.includes('%') ? '' : addrText;
  const family = isIP(s);
  if (family !== 4 && family !== 6) throw new MeshError('BAD_REQUEST', `${JSON.stringify(text)} is not an IPv4 or IPv6 address or CIDR block`);
  const bits = BITS[family];
  let prefix = bits;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(p) || Number(p) > bits) throw new MeshError('BAD_REQUEST', `${JSON.stringify(text)}: prefix length must be 0..${bits}`);
    prefix = Number(p);
  }
  let value = family === 4 ? parseV4(s) : parseV6(s);
  let fam: IpFamily = family;
  if ((value & ((1n << BigInt(bits - prefix)) - 1n)) !== 0n) {
    throw new MeshError('BAD_REQUEST', `${JSON.stringify(text)} has host bits set (the block starts at a lower address)`);
  }
  // A block inside ::ffff:0:0/96 is an IPv4 block in another spelling.
  if (fam === 6 && prefix >= 96 && value >> 32n === 0xffffn) {
    value &= 0xffffffffn;
    prefix -= 96;
    fam = 4;
  }
  return { family: fam, network: value, prefix, text };
}

/** Whether the block contains the address (an IPv4 address is never inside an IPv6 block, after normalisation). */
export function cidrContains(c: Cidr, ip: IpAddress): boolean {
  if (c.family !== ip.family) return false;
  const shift = BigInt(BITS[c.family] - c.prefix);
  return ip.value >> shift === c.network >> shift;
}

/** The first block of the list containing the address, if any. */
export function findCidr(list: readonly Cidr[], ip: IpAddress): Cidr | undefined {
  return list.find((c) => cidrContains(c, ip));
}
