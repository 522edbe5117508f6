/**
 * Placement trace of a call as the tenant API shows it (an extension, not in
 * the 2010-04-01 API): one entry per media placement decision, snake_case.
 * Entries come from Redis as the signaling node stored them
 * (control-plane/placement/trace.ts); one that does not read as an entry is
 * left out, never a 500, and entries written before a field existed render
 * it as null or empty.
 */
import { z } from '@hono/zod-openapi';
import { apiDate } from '../../../regions/store/schema.js';
import { PageMetaSchema, type PageMeta } from '../paging.js';

const Candidate = z.object({
  node_id: z.string(),
  region: z.string(),
  delay_ms: z.number().openapi({ description: 'One-way delay from the media region, ms (0 when local)' }),
  load: z.number().nullable(),
  sessions: z.number().nullable(),
});

const Rejected = z.object({
  node_id: z.string(),
  region: z.string(),
  reason: z.string().openapi({ description: '`unhealthy`, `full`, `lacks-capability` or `no-link`' }),
});

export const PlacementSchema = z
  .object({
    sequence: z.number().openapi({ description: '1, 2, 3 … per call; a gap shows dropped entries' }),
    date_created: z.string(),
    capability: z.string().openapi({ description: 'What the call needed: relay, play, record, …' }),
    media_region: z.string().openapi({ description: 'Where the call’s media was' }),
    home_region: z.string().openapi({ description: 'Where the call is anchored' }),
    kind: z.enum(['local', 'remote', 'central', 'unavailable']).openapi({ description: 'local: a node where the media is; remote: another region; central: a local relay branching to the home region’s central service' }),
    node_id: z.string().nullable().openapi({ description: 'The chosen node; null when nothing could serve' }),
    region: z.string().nullable(),
    delay_ms: z.number().nullable().openapi({ description: 'One-way delay to a remote node, ms' }),
    branch_to: z.object({ region: z.string(), service: z.string(), delay_ms: z.number() }).nullable(),
    candidates: z.array(Candidate).openapi({ description: 'The chosen node first, then the runners-up of the rule that decided' }),
    rejected: z.array(Rejected).openapi({ description: 'Nodes set aside with the reason (the first few by id)' }),
    nodes_total: z.number(),
    reasons: z.array(z.string()),
  })
  .openapi('Placement');

export const PlacementListSchema = z.object({ placements: z.array(PlacementSchema), ...PageMetaSchema }).openapi('PlacementList');

type Placement = z.infer<typeof PlacementSchema>;

/** The stored shape, as far as rendering needs it. */
const StoredCandidate = z.object({ nodeId: z.string(), region: z.string(), delayMs: z.number(), load: z.number().nullable(), sessions: z.number().nullable() });
const StoredEntry = z.object({
  seq: z.number(),
  atMs: z.number(),
  decision: z.object({
    outcome: z.enum(['local', 'remote', 'local-with-branch', 'unavailable']),
    capability: z.string(),
    mediaRegion: z.string(),
    homeRegion: z.string(),
    nodeId: z.string().optional(),
    region: z.string().optional(),
    delayMs: z.number().optional(),
    branchTo: z.object({ region: z.string(), service: z.string(), delayMs: z.number() }).optional(),
    reasons: z.array(z.string()),
    score: z.object({
      nodesTotal: z.number(),
      chosen: StoredCandidate.nullable(),
      runnersUp: z.array(StoredCandidate),
      rejected: z.array(z.object({ nodeId: z.string(), region: z.string(), reason: z.string() })).optional(),
    }),
  }),
});

function renderCandidate(c: z.infer<typeof StoredCandidate>): z.infer<typeof Candidate> {
  return { node_id: c.nodeId, region: c.region, delay_ms: c.delayMs, load: c.load, sessions: c.sessions };
}

/** One stored entry in the API's shape; undefined when it does not read as an entry. */
export function renderPlacement(stored: unknown): Placement | undefined {
  const parsed = StoredEntry.safeParse(stored);
  if (!parsed.success) return undefined;
  const { seq, atMs, decision: d } = parsed.data;
  return {
    sequence: seq,
    date_created: apiDate(new Date(atMs)),
    capability: d.capability,
    media_region: d.mediaRegion,
    home_region: d.homeRegion,
    kind: d.outcome === 'local-with-branch' ? 'central' : d.outcome,
    node_id: d.nodeId ?? null,
    region: d.region ?? null,
    delay_ms: d.delayMs ?? null,
    branch_to: d.branchTo === undefined ? null : { region: d.branchTo.region, service: d.branchTo.service, delay_ms: d.branchTo.delayMs },
    candidates: [...(d.score.chosen === null ? [] : [d.score.chosen]), ...d.score.runnersUp].map(renderCandidate),
    rejected: (d.score.rejected ?? []).map((r) => ({ node_id: r.nodeId, region: r.region, reason: r.reason })),
    nodes_total: d.score.nodesTotal,
    reasons: d.reasons,
  };
}

export function renderPlacementList(items: Placement[], meta: PageMeta): z.infer<typeof PlacementListSchema> {
  return { placements: items, ...meta };
}
