/**
 * Where the platform may send requests on a tenant's behalf (webhooks,
 * instruction documents, Play media): without a policy a tenant can point a
 * URL at loopback, the cloud metadata address or another internal service
 * and have the platform call it for them (server-side request forgery).
 *
 * A destination address is allowed when it lies in some `allow` block and in
 * no `deny` block: deny wins. Profiles:
 * - `development` (the embedded default): only the configured `deny` blocks
 *   are refused, so the examples' application servers on loopback work;
 * - `production`: also every non-public range (PRODUCTION_DENY) and the
 *   platform's own addresses.
 * Pure: the guarded client (guarded-request.ts) applies it to each resolved
 * address it connects to.
 */
import { MeshError, isMeshError } from '../core/errors.js';
import { findCidr, parseCidr, parseIp, type Cidr } from './cidr.js';

export type DestinationProfile = 'development' | 'production';

/**
 * What the production profile refuses besides the platform's own addresses.
 * IPv4-mapped IPv6 forms (::ffff:0:0/96) of the IPv4 blocks are covered by
 * normalisation (cidr.ts).
 */
export const PRODUCTION_DENY: readonly string[] = [
  '0.0.0.0/8', // "this network", incl. the unspecified 0.0.0.0 (reaches loopback on Linux)
  '10.0.0.0/8', // private (RFC 1918)
  '100.64.0.0/10', // shared address space, carrier-grade NAT (RFC 6598)
  '127.0.0.0/8', // loopback
  '169.254.0.0/16', // link-local, incl. cloud metadata 169.254.169.254 (RFC 3927)
  '172.16.0.0/12', // private (RFC 1918)
  '192.0.0.0/24', // IETF protocol assignments (RFC 6890)
  '192.168.0.0/16', // private (RFC 1918)
  '198.18.0.0/15', // benchmarking (RFC 2544)
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, incl. the limited broadcast 255.255.255.255
  '::/128', // unspecified
  '::1/128', // loopback
  'fc00::/7', // unique local (RFC 4193)
  'fe80::/10', // link-local
  'fec0::/10', // deprecated site-local (RFC 3879), still routed internally by some networks
  'ff00::/8', // multicast
];

/** Every address: the default `allow`. */
export const ALLOW_ALL: readonly string[] = ['0.0.0.0/0', '::/0'];

export interface DestinationPolicyOptions {
  /** Default `development`. */
  profile?: DestinationProfile;
  /** Blocks (or single addresses) that may be reached; nothing outside them. Default ALLOW_ALL. */
  allow?: readonly string[];
  /** Blocks refused on top of the profile's; deny wins over allow. Default none. */
  deny?: readonly string[];
  /** The platform's own addresses (SIP, control plane, media, Redis…): refused in production. Default none. */
  ownAddresses?: readonly string[];
}

export interface DestinationPolicy {
  readonly profile: DestinationProfile;
  readonly allow: readonly Cidr[];
  readonly deny: readonly Cidr[];
}

/** Throws MeshError('BAD_REQUEST') naming the first bad block. */
export function createDestinationPolicy(o: DestinationPolicyOptions = {}): DestinationPolicy {
  const profile = o.profile ?? 'development';
  const production = profile === 'production';
  const own = (o.ownAddresses ?? []).filter((a) => parseIp(a) !== undefined);
  return {
    profile,
    allow: (o.allow ?? ALLOW_ALL).map(parseCidr),
    deny: [...(production ? [...PRODUCTION_DENY, ...own] : []), ...(o.deny ?? [])].map(parseCidr),
  };
}

/** Anything goes: what a client uses when no policy was wired in (tests, tools). */
export const OPEN_DESTINATION_POLICY: DestinationPolicy = createDestinationPolicy();

/** Whether the policy lets the platform connect to this address. An unparseable address is not allowed. */
export function isDestinationAllowed(policy: DestinationPolicy, address: string): boolean {
  const ip = parseIp(address);
  if (ip === undefined) return false;
  return findCidr(policy.deny, ip) === undefined && findCidr(policy.allow, ip) !== undefined;
}

/**
 * The error for a refused destination. The message names only the URL's host
 * (the tenant wrote it): not the resolved address nor the rule, which would
 * map the platform's network for whoever probes it.
 */
export function destinationRefused(host: string, address: string): MeshError {
  return new MeshError('FORBIDDEN', `destination ${host} is not allowed by the webhook policy`, {
    detail: { reason: REFUSED, host, address },
  });
}

const REFUSED = 'destination-policy';

/** Whether an error is a refusal by the destination policy. */
export function isDestinationRefused(e: unknown): e is MeshError {
  return isMeshError(e, 'FORBIDDEN') && e.detail?.['reason'] === REFUSED;
}
