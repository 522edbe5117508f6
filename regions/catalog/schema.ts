/**
 * The region catalog's shape: one zod schema per entity, each option
 * documented with its default. Field-level rules live here; rules that span
 * several entries (subnets, uniqueness, link symmetry) are in `checks.ts`.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { parseIpv4Subnet } from './ipv4.js';
import { isPrototypeMemberName } from '../core/ids.js';

/** What a media node (or a central media service) can do; the placement policy matches on these. */
export const MEDIA_CAPABILITIES = ['relay', 'play', 'record', 'transcode', 'conference'] as const;
export type MediaCapability = (typeof MEDIA_CAPABILITIES)[number];

const ipv4 = z.string().refine((s) => isIP(s) === 4, { message: 'must be an IPv4 address' });
const port = z.number().int().min(1).max(65535);

export const regionIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and -, starting with a letter, at most 32')
  .refine((s) => !isPrototypeMemberName(s), { message: 'is a reserved name (an Object.prototype member)' });
const nodeIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only')
  .refine((s) => !isPrototypeMemberName(s), { message: 'is a reserved name (an Object.prototype member)' });
const cidrSchema = z.string().refine((s) => parseIpv4Subnet(s) !== undefined, {
  message: 'must be an IPv4 CIDR block with host bits zero, e.g. 127.0.1.0/24',
});
export const capabilitySchema = z.enum(MEDIA_CAPABILITIES);

export const MediaNodeSchema = z
  .object({
    /** Unique node id across the whole catalog, e.g. `us-east-media-1`. */
    id: nodeIdSchema,
    /** Interface address rtpengine binds RTP to and listens for ng on; inside the region's subnet. */
    address: ipv4,
    /** ng control port (UDP). Default 2223. */
    ngPort: port.default(2223),
    /** RTP port range (inclusive); must not overlap another node's range on the same address. */
    rtpPortMin: port,
    rtpPortMax: port,
    /** What the node can do. Default relay, play, record. */
    capabilities: z.array(capabilitySchema).min(1).max(MEDIA_CAPABILITIES.length).default(['relay', 'play', 'record']),
  })
  .strict()
  .refine((n) => n.rtpPortMin < n.rtpPortMax, { message: 'rtpPortMin must be below rtpPortMax', path: ['rtpPortMin'] });

export const RegionSchema = z
  .object({
    /** Region id, e.g. `eu-west`. */
    id: regionIdSchema,
    /** Loopback (or real) subnet every address of the region lies in, e.g. 127.0.2.0/24. */
    subnet: cidrSchema,
    signaling: z
      .object({
        /** SIP listen address of the region's signaling node (`.1` in the embedded default). */
        address: ipv4,
        /** SIP port, UDP and TCP. Default 5060. */
        port: port.default(5060),
      })
      .strict(),
    /** The region's media nodes (rtpengine). At least one, at most 64. */
    mediaNodes: z.array(MediaNodeSchema).min(1).max(64),
    centralMedia: z
      .object({
        /** Address of the central media service (recording store) — `.20` in the embedded default. */
        address: ipv4,
        /** HTTP port of the central media service. Default 8090. */
        port: port.default(8090),
        /** Capabilities this region serves centrally for tenants homed here. Default record. */
        services: z.array(capabilitySchema).max(MEDIA_CAPABILITIES.length).default(['record']),
      })
      .strict(),
  })
  .strict();

/** One-way delay of a region link in ms; `links[from][to]`. 0..10000, fractions allowed. */
const delayMsSchema = z.number().finite().min(0).max(10_000);

export const HomeRegionRuleSchema = z
  .object({
    /** Account sid of the tenant that owns the numbers: AC + 32 hex. */
    tenant: z.string().regex(/^AC[0-9a-f]{32}$/, 'must be AC followed by 32 lower-case hex digits'),
    /** Region the tenant's calls are anchored in. */
    homeRegion: regionIdSchema,
  })
  .strict();

/** Dialed-number prefix key: E.164 digits with an optional leading +, e.g. `+1555`. */
const numberPrefixSchema = z.string().regex(/^\+?[0-9]{1,15}$/, 'digits with optional leading +, at most 15');

export const RegionCatalogSchema = z
  .object({
    /** The regions. At least one, at most 32. */
    regions: z.array(RegionSchema).min(1).max(32),
    /**
     * One-way link delays in ms, `links[from][to]`. Must be symmetric and
     * cover every pair of regions. Default: none (valid only for one region).
     */
    links: z.record(z.string(), z.record(z.string(), delayMsSchema)).default({}),
    /** Number → tenant → home region, until the control plane owns it. Longest prefix wins. Default empty. */
    homeRegionRules: z
      .object({ numbers: z.record(numberPrefixSchema, HomeRegionRuleSchema).default({}) })
      .strict()
      .default({}),
  })
  .strict();

export type MediaNodeSpec = z.infer<typeof MediaNodeSchema>;
export type RegionSpec = z.infer<typeof RegionSchema>;
export type RegionCatalogSpec = z.infer<typeof RegionCatalogSchema>;
export type HomeRegionRuleSpec = z.infer<typeof HomeRegionRuleSchema>;
