/**
 * Request and response schemas of the operator API. The same zod schemas
 * validate requests and generate the OpenAPI document (issue 4 §5).
 */
import { z } from '@hono/zod-openapi';
import { describeInvalidSource } from '../../signaling/b2bua/carrier-admission.js';

export const MAX_ALLOWED_SOURCES = 256;
export const MAX_PREFIXES = 256;

export const ErrorSchema = z
  .object({
    code: z.string().openapi({ example: 'NOT_FOUND' }),
    message: z.string(),
    status: z.number().int(),
    field: z.string().optional().openapi({ description: 'The request field that was rejected (400 only).' }),
  })
  .openapi('OperatorError');

export const RegionSchema = z
  .object({
    id: z.string().openapi({ example: 'us-east' }),
    name: z.string().optional(),
    sipAddress: z.string().optional().openapi({ example: '127.0.1.1' }),
    sipPort: z.number().int().optional().openapi({ example: 5060 }),
    addresses: z.string().optional().openapi({ description: 'Address block of the region', example: '127.0.1.0/24' }),
  })
  .openapi('Region');

export const NodeSchema = z
  .object({
    id: z.string(),
    region: z.string(),
    kind: z.enum(['signaling', 'media', 'central-media']),
    healthy: z.boolean().openapi({ description: "In discovery's healthy list now" }),
    /** Sessions (media) or active calls (signaling) of a live node; null for a dead one. */
    load: z.number().nullable().openapi({ description: 'Sessions (media) or active calls (signaling) now; null when unknown or the node is dead (see lastLoad)' }),
    state: z.enum(['serving', 'drained', 'dead']).openapi({ description: 'dead: not in discovery\'s healthy list; drained: alive but drained by an operator (no new calls); serving otherwise' }),
    drained: z.boolean().openapi({ description: 'Drained by an operator (POST /v1/drills drain); stays until undrain, across restarts' }),
    drainedSince: z.string().nullable().openapi({ description: 'ISO 8601 time of the drain' }),
    lastLoad: z.number().nullable().optional().openapi({ description: 'A dead node: the last load it reported (stale)' }),
    lastPingAt: z.string().nullable().openapi({ description: 'ISO 8601 time of the last health ping or metrics report' }),
    lastPingRttMs: z.number().nullable().optional(),
    address: z.string().optional(),
    capabilities: z.array(z.string()).optional(),
    lastError: z.string().nullable().optional(),
    source: z.enum(['discovery', 'metrics']).optional().openapi({ description: 'Where the health comes from: discovery, or only a node metrics report' }),
    lastSeenAt: z.string().nullable().optional().openapi({ description: 'ISO 8601 time discovery last listed a node that has left' }),
    meta: z.record(z.string()).optional().openapi({ description: 'Attributes the node registered with' }),
  })
  .openapi('Node');

export const RegionLinkSchema = z
  .object({
    to: z.string().openapi({ example: 'eu-west' }),
    oneWayDelayMs: z.number().nullable().openapi({ description: "The catalog's one-way delay (not a measurement)", example: 40 }),
    state: z.enum(['up', 'partial', 'down', 'cut']).openapi({
      description:
        'cut = cut by the link-cut drill (/v1/regions/{a}/links/{b}); otherwise from discovery: up = the far region has a healthy signaling node and (when the catalog gives it central services) a healthy central media service; partial = one of the two; down = neither',
    }),
    peerSignalingHealthy: z.number().int(),
    peerCentralMediaHealthy: z.number().int().nullable().openapi({ description: 'null when the far region has no central media services' }),
  })
  .openapi('RegionLink');

export const RegionViewSchema = RegionSchema.extend({
  signalingNodes: z.array(NodeSchema),
  mediaNodes: z.array(NodeSchema),
  centralMedia: z.object({
    address: z.string().nullable(),
    port: z.number().int().nullable(),
    services: z.array(z.string()),
    nodes: z.array(NodeSchema),
  }),
  links: z.array(RegionLinkSchema),
}).openapi('RegionView');

const sourceSchema = z
  .string()
  .max(18)
  .superRefine((s, ctx) => {
    const why = describeInvalidSource(s);
    if (why !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${s}" is not an IPv4 address or CIDR block: ${why}` });
  })
  .openapi({ example: '203.0.113.0/24' });

// RFC 3261 §19.1.1: sip:[user@]host[:port][;params]; host is a name, IPv4 or [IPv6].
const SIP_URI = /^sips?:(?:[^@\s]+@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?(?:;[^\s]*)?$/;

const outboundProxySchema = z
  .string()
  .max(256)
  .regex(SIP_URI, 'must be a sip: or sips: URI, e.g. sip:127.0.0.1:5090')
  .openapi({ example: 'sip:127.0.0.1:5090' });

const prefixSchema = z
  .string()
  .regex(/^\+?\d{1,15}$/, 'must be digits with an optional leading +')
  .openapi({ example: '+1555' });

const nameSchema = z.string().trim().min(1).max(64);

export const CarrierCreateSchema = z
  .object({
    name: nameSchema,
    allowedSources: z.array(sourceSchema).min(1).max(MAX_ALLOWED_SOURCES),
    outboundProxy: outboundProxySchema.optional(),
    prefixes: z.array(prefixSchema).max(MAX_PREFIXES).default([]),
  })
  .strict()
  .openapi('CarrierCreate');

export const CarrierUpdateSchema = z
  .object({
    name: nameSchema.optional(),
    allowedSources: z.array(sourceSchema).min(1).max(MAX_ALLOWED_SOURCES).optional(),
    outboundProxy: outboundProxySchema.nullable().optional().openapi({ description: 'null removes it' }),
    prefixes: z.array(prefixSchema).max(MAX_PREFIXES).optional(),
  })
  .strict()
  .openapi('CarrierUpdate');

export const CarrierSchema = z
  .object({
    sid: z.string().openapi({ example: 'CR0123456789abcdef0123456789abcdef' }),
    region: z.string(),
    name: z.string(),
    allowedSources: z.array(z.string()),
    outboundProxy: z.string().optional(),
    prefixes: z.array(z.string()),
    dateCreated: z.string(),
  })
  .openapi('Carrier');

const DRILL_ACTIONS = ['drain', 'undrain', 'kill'] as const;

export const DrillSchema = z
  .object({
    action: z.enum(DRILL_ACTIONS).openapi({
      description:
        'drain: the node takes no new calls (a signaling node answers new INVITEs 503 + Retry-After, a media node gets no new placements) while its calls go on, until undrain; kill: SIGKILL its process (a signaling node: the one serving it, the standby takes over)',
    }),
    nodeId: z.string().min(1).max(128),
    wait: z.union([z.boolean(), z.number().int().min(1).max(60)]).optional().openapi({
      description:
        'Answer only once the effect is seen (kill: the node dead and its calls re-anchored, or the standby serving with the calls adopted; drain / undrain: the change reported by a signaling node), with followUp; true waits at most 20 s, a number that many seconds (1–60). Default: answer at once',
    }),
  })
  .strict()
  .openapi('Drill');

export const DrillFollowUpSchema = z
  .object({
    complete: z.boolean().openapi({ description: 'Everything the drill leads to was seen within the wait' }),
    waitedMs: z.number().int(),
    detectionMs: z.number().int().nullable().openapi({ description: 'Drill → its effect first seen (media kill: node shown dead; signaling kill: the standby took the lease; drain / undrain: reported by a signaling node); null when not seen' }),
    recoveryMs: z.number().int().nullable().openapi({ description: 'Drill → calls back in service (media kill: none left on the node; signaling kill: the standby serving with the calls adopted); null when not seen or not a kill' }),
    callsAffected: z.number().int().nullable().openapi({ description: 'Live calls on the node at the drill (kill) or calls it keeps carrying (drain)' }),
    callsMoved: z.number().int().optional().openapi({ description: 'Media kill: calls re-anchored on another node' }),
    callsEnded: z.number().int().optional().openapi({ description: 'Media kill: affected calls that ended instead' }),
    callsAdopted: z.number().int().optional().openapi({ description: 'Signaling kill: calls the standby adopted' }),
    observed: z.string().openapi({ description: 'What was seen, in words' }),
  })
  .openapi('DrillFollowUp');

export const DrillResultSchema = z
  .object({
    action: z.enum(DRILL_ACTIONS),
    nodeId: z.string(),
    region: z.string().optional(),
    kind: z.enum(['signaling', 'media', 'central-media']).optional(),
    did: z.string().openapi({ description: 'What the drill did and what follows, in words' }),
    drained: z.boolean().optional().openapi({ description: 'drain / undrain: whether the node is drained now' }),
    drainedSince: z.string().nullable().optional(),
    wasDrained: z.boolean().optional().openapi({ description: 'undrain: whether it was drained before' }),
    loadAtDrill: z.number().nullable().optional().openapi({ description: 'The calls (signaling) or sessions (media) it had when the drill ran' }),
    process: z.string().optional().openapi({ description: 'kill: the process signalled, as the local mesh names it (e.g. us-east-sig-1#1)' }),
    pid: z.number().int().optional(),
    signal: z.literal('SIGKILL').optional(),
    followUp: DrillFollowUpSchema.optional().openapi({ description: 'With wait: what followed the drill' }),
    completedAt: z.string(),
  })
  .openapi('DrillResult');

export const LinkActionSchema = z
  .object({
    action: z.enum(['cut', 'restore']).openapi({ description: 'cut: the emulated link drops everything both ways until restored' }),
  })
  .strict()
  .openapi('LinkAction');

export const LinkStateSchema = z
  .object({
    a: z.string().openapi({ example: 'us-east' }),
    b: z.string().openapi({ example: 'eu-west' }),
    state: z.enum(['cut', 'open']).openapi({ description: 'cut by a drill (both directions), or open' }),
  })
  .openapi('LinkState');

export const LinkParams = z.object({
  a: z.string().min(1).max(64).openapi({ param: { name: 'a', in: 'path' }, example: 'us-east' }),
  b: z.string().min(1).max(64).openapi({ param: { name: 'b', in: 'path' }, example: 'eu-west' }),
});

export const RegionParam = z.object({
  region: z.string().min(1).max(64).openapi({ param: { name: 'region', in: 'path' }, example: 'us-east' }),
});

export const CarrierParams = RegionParam.extend({
  sid: z
    .string()
    .regex(/^CR[0-9a-f]{32}$/, 'must be CR followed by 32 hex digits')
    .openapi({ param: { name: 'sid', in: 'path' } }),
});

export const CallParam = z.object({
  callSid: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1..64 letters, digits, _ or -')
    .openapi({ param: { name: 'callSid', in: 'path' }, example: 'CA0123456789abcdef0123456789abcdef' }),
});
