/**
 * Carrier admission: which carrier (if any) an INVITE comes from, decided by
 * its source address against each carrier's allowed IPv4 addresses and CIDR
 * blocks, then by the dialed number against the carrier's prefixes.
 *
 * Pure logic, no I/O: the signaling node loads the region's CarrierRecords
 * (control-plane/operator/carriers-store.ts `loadCarriers`) and rebuilds this
 * object when they change. The matcher is written here rather than taken from
 * a package because it is a few lines of 32-bit arithmetic and must be strict:
 * an operator typo must never widen what is admitted.
 */
import type { CarrierRecord } from '../../regions/store/schema.js';

/** An IPv4 block as a network address and mask (both unsigned 32-bit). */
export interface Ipv4Block {
  network: number;
  mask: number;
  bits: number;
}

const OCTET = /^(?:0|[1-9]\d{0,2})$/;

/**
 * Dotted-quad IPv4 to an unsigned 32-bit number, or undefined when malformed.
 * Leading zeros are refused: `010` is octal to inet_aton and decimal to people,
 * and an allow-list must not be ambiguous.
 */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = value * 256 + n;
  }
  return value;
}

/** Mask with the top `bits` bits set. `-1 << 32` is -1 in JS (shift counts are mod 32), hence the /0 case. */
function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * `a.b.c.d` (a /32) or `a.b.c.d/n` with 0 ≤ n ≤ 32 and no host bits set, or
 * undefined. Host bits are refused (10.0.0.1/8) because the operator most
 * likely meant something else than the whole /8.
 */
export function parseIpv4Block(text: string): Ipv4Block | undefined {
  const slash = text.indexOf('/');
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const addr = parseIpv4(addrText);
  if (addr === undefined) return undefined;
  let bits = 32;
  if (slash >= 0) {
    const bitsText = text.slice(slash + 1);
    if (!/^(?:0|[1-9]\d?)$/.test(bitsText)) return undefined;
    bits = Number(bitsText);
    if (bits > 32) return undefined;
  }
  const mask = maskOf(bits);
  if (((addr & mask) >>> 0) !== addr) return undefined;
  return { network: addr, mask, bits };
}

/** Why `text` is not a valid allowed source, or undefined when it is (for API validation messages). */
export function describeInvalidSource(text: string): string | undefined {
  if (parseIpv4Block(text) !== undefined) return undefined;
  const slash = text.indexOf('/');
  if (parseIpv4(slash < 0 ? text : text.slice(0, slash)) === undefined) return 'not an IPv4 address';
  const bitsText = text.slice(slash + 1);
  if (!/^(?:0|[1-9]\d?)$/.test(bitsText) || Number(bitsText) > 32) return 'prefix length must be 0..32';
  return 'host bits set below the prefix length';
}

export function blockContains(block: Ipv4Block, address: number): boolean {
  return ((address & block.mask) >>> 0) === block.network;
}

/**
 * Source address as the transport reports it. Dual-stack sockets report IPv4
 * peers as IPv4-mapped IPv6 (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2), so that
 * form is unwrapped; anything else that is not IPv4 is not admitted.
 */
export function parseSourceAddress(text: string): number | undefined {
  const lower = text.trim().toLowerCase();
  const bare = lower.startsWith('::ffff:') ? lower.slice(7) : lower;
  return parseIpv4(bare);
}

/** Digits of a number with an optional leading '+' dropped, so `+1555…` and `1555…` compare equal. */
function digitsOf(number: string): string {
  return number.startsWith('+') ? number.slice(1) : number;
}

export type AdmissionResult =
  | { ok: true; carrier: CarrierRecord | undefined }
  | { ok: false; reason: string };

interface CompiledCarrier {
  record: CarrierRecord;
  blocks: Ipv4Block[];
  prefixes: string[];
}

export class CarrierAdmission {
  private readonly carriers: CompiledCarrier[];

  /**
   * Entries that do not parse are ignored (never widened): the API validates
   * on write, so a bad entry can only come from a hand-edited record.
   */
  constructor(carriers: readonly CarrierRecord[]) {
    this.carriers = carriers.map((record) => ({
      record,
      blocks: record.allowedSources.map(parseIpv4Block).filter((b): b is Ipv4Block => b !== undefined),
      prefixes: record.prefixes.map(digitsOf).filter((p) => p.length > 0),
    }));
  }

  get size(): number {
    return this.carriers.length;
  }

  /**
   * Admit an INVITE from `sourceAddress` for the number `dialed`.
   * With no carriers configured for the region everything is admitted and
   * `carrier` is undefined (the embedded default's dev mode). Otherwise the
   * most specific matching source block wins, then the longest matching
   * prefix; a carrier with no prefixes accepts any number.
   */
  admit(sourceAddress: string, dialed: string): AdmissionResult {
    if (this.carriers.length === 0) return { ok: true, carrier: undefined };
    const address = parseSourceAddress(sourceAddress);
    if (address === undefined) return { ok: false, reason: `source ${sourceAddress} is not an IPv4 address` };

    const bySource: { carrier: CompiledCarrier; bits: number }[] = [];
    for (const carrier of this.carriers) {
      let best = -1;
      for (const block of carrier.blocks) if (block.bits > best && blockContains(block, address)) best = block.bits;
      if (best >= 0) bySource.push({ carrier, bits: best });
    }
    if (bySource.length === 0) return { ok: false, reason: `source ${sourceAddress} is not an allowed carrier address` };

    const number = digitsOf(dialed);
    let chosen: { record: CarrierRecord; bits: number; prefixLength: number } | undefined;
    for (const { carrier, bits } of bySource) {
      let prefixLength: number;
      if (carrier.prefixes.length === 0) prefixLength = 0;
      else {
        prefixLength = -1;
        for (const p of carrier.prefixes) if (p.length > prefixLength && number.startsWith(p)) prefixLength = p.length;
        if (prefixLength < 0) continue;
      }
      if (
        chosen === undefined ||
        bits > chosen.bits ||
        (bits === chosen.bits && prefixLength > chosen.prefixLength)
      ) {
        chosen = { record: carrier.record, bits, prefixLength };
      }
    }
    if (chosen === undefined) {
      return { ok: false, reason: `number ${dialed} is outside the prefixes of the carrier at ${sourceAddress}` };
    }
    return { ok: true, carrier: chosen.record };
  }
}
