/**
 * The operator API (issue 4 §4), an OpenAPIHono app the lead mounts at `/v1`:
 * every region of the catalog with its nodes and links, nodes and carriers per
 * region, the placement trace of a call, and failover drills on a node of any
 * region, and link cut drills between two regions (recorded in Redis, applied
 * by the launcher's relays). Operator credentials are separate from tenants'.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Redis } from 'ioredis';
import { MeshError } from '../../regions/core/errors.js';
import { cutLink, isLinkCut, listLinkCuts, restoreLink } from '../../regions/store/link-cuts.js';
import { drainNode, undrainNode } from '../../regions/store/drained-nodes.js';
import type { Logger } from '../../regions/core/log.js';
import { CarrierRepository } from './carrier-repository.js';
import { DrillWatcher, type DrillBaseline, type DrillFollowUp } from './drill-wait.js';
import { handleError, operatorAuth, validationError } from './http.js';
import { PRICING_ALLOWED_METHODS, registerPricingRoutes } from './pricing.js';
import { describeRegions, regionList } from './region-view.js';
import * as r from './routes.js';
import type { DrillExecutor, NodeInfo, RegionInfo } from './types.js';

export interface OperatorAppDeps {
  redis: Redis;
  keyPrefix: string;
  operator: { username: string; password: string };
  /** Every region of the catalog (`regionsFromCatalog`), in the order `/regions` lists them. */
  regions: RegionInfo[];
  /** Signaling, media and central media nodes of every region (discovery, departed nodes, metrics reports). */
  nodes: () => Promise<NodeInfo[]> | NodeInfo[];
  drills: DrillExecutor;
  /** The placement trace of a call, undefined when the call is unknown. */
  placementTrace: (callSid: string) => Promise<unknown | undefined>;
  /** Longest a drill may take before the API answers 504. Default 30 000 ms. */
  drillTimeoutMs?: number;
  /** Drills are logged here (what was done and, with wait, what followed). Default: not logged. */
  log?: Logger;
  /** How often a drill with wait looks at the mesh. Default 100 ms. */
  drillPollMs?: number;
  /** Called with unexpected errors (every 500, which the client sees only as "internal error"). Default: ignore. */
  onInternalError?: (error: unknown) => void;
}

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MeshError('REQUEST_TIMEOUT', `${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function createOperatorApp(deps: OperatorAppDeps): OpenAPIHono {
  const app = new OpenAPIHono({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error, 'body');
    },
  });
  const carriers = new CarrierRepository(deps.redis, deps.keyPrefix);
  const regionIds = new Set(deps.regions.map((x) => x.id));
  const drillTimeoutMs = deps.drillTimeoutMs ?? 30_000;
  const watcher = new DrillWatcher({ redis: deps.redis, keyPrefix: deps.keyPrefix, nodes: deps.nodes, ...(deps.drillPollMs !== undefined ? { pollMs: deps.drillPollMs } : {}) });
  /** `wait` of a drill request → ms, 0 for none (true: 20 s). */
  const waitMsOf = (wait: boolean | number | undefined): number => (wait === true ? 20_000 : typeof wait === 'number' ? wait * 1000 : 0);
  /** Log a drill's answer (and what followed), then send it. */
  const answer = <T extends { action: string; nodeId: string; did: string; followUp?: DrillFollowUp }>(body: T): T => {
    deps.log?.info('drill', { action: body.action, nodeId: body.nodeId, did: body.did, ...(body.followUp !== undefined ? { followUp: body.followUp } : {}) });
    return body;
  };

  const requireRegion = (region: string): string => {
    if (!regionIds.has(region)) throw new MeshError('NOT_FOUND', `region ${region} not found; regions: ${regionList(regionIds)}`);
    return region;
  };

  /** Both regions known and distinct; the same region twice is 400 naming `b`. */
  const requireLink = (a: string, b: string): void => {
    requireRegion(a);
    requireRegion(b);
    if (a === b) throw new MeshError('BAD_REQUEST', `a link joins two different regions, got ${a} twice`, { detail: { field: 'b' } });
  };

  app.openAPIRegistry.registerComponent('securitySchemes', r.SECURITY_SCHEME, {
    type: 'http',
    scheme: 'basic',
    description: 'Operator credentials (separate from tenant accounts)',
  });
  app.onError((err, c) => handleError(err, c, deps.onInternalError));
  app.notFound((c) => handleError(new MeshError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), c));
  app.use('*', operatorAuth(deps.operator));

  app.openapi(r.listRegions, async (c) => c.json({ regions: describeRegions(deps.regions, await deps.nodes(), await listLinkCuts(deps.redis, deps.keyPrefix)) }, 200));

  app.openapi(r.listNodes, async (c) => {
    const region = requireRegion(c.req.valid('param').region);
    const all = await deps.nodes();
    const nodes = all.filter((n) => n.region === region).sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id));
    return c.json({ region, nodes }, 200);
  });

  app.openapi(r.listCarriers, async (c) => {
    const region = requireRegion(c.req.valid('param').region);
    return c.json({ region, carriers: await carriers.list(region) }, 200);
  });

  app.openapi(r.createCarrier, async (c) => {
    const region = requireRegion(c.req.valid('param').region);
    const body = c.req.valid('json');
    const rec = await carriers.create(region, body);
    c.header('Location', `${c.req.path.replace(/\/$/, '')}/${rec.sid}`);
    return c.json(rec, 201);
  });

  app.openapi(r.getCarrier, async (c) => {
    const { region, sid } = c.req.valid('param');
    requireRegion(region);
    const rec = await carriers.get(region, sid);
    if (rec === undefined) throw new MeshError('NOT_FOUND', `carrier ${sid} not found in region ${region}`);
    return c.json(rec, 200);
  });

  app.openapi(r.updateCarrier, async (c) => {
    const { region, sid } = c.req.valid('param');
    requireRegion(region);
    return c.json(await carriers.update(region, sid, c.req.valid('json')), 200);
  });

  app.openapi(r.deleteCarrier, async (c) => {
    const { region, sid } = c.req.valid('param');
    requireRegion(region);
    await carriers.delete(region, sid);
    return c.body(null, 204);
  });

  app.openapi(r.getPlacements, async (c) => {
    const { callSid } = c.req.valid('param');
    const trace = await deps.placementTrace(callSid);
    if (trace === undefined) throw new MeshError('NOT_FOUND', `call ${callSid} not found`);
    return c.json({ callSid, placements: trace }, 200);
  });

  app.openapi(r.getLink, async (c) => {
    const { a, b } = c.req.valid('param');
    requireLink(a, b);
    const cut = await isLinkCut(deps.redis, deps.keyPrefix, a, b);
    return c.json({ a, b, state: cut ? ('cut' as const) : ('open' as const) }, 200);
  });

  app.openapi(r.setLink, async (c) => {
    const { a, b } = c.req.valid('param');
    requireLink(a, b);
    const { action } = c.req.valid('json');
    if (action === 'cut') await cutLink(deps.redis, deps.keyPrefix, a, b);
    else await restoreLink(deps.redis, deps.keyPrefix, a, b);
    return c.json({ a, b, state: action === 'cut' ? ('cut' as const) : ('open' as const) }, 200);
  });

  app.openapi(r.runDrill, async (c) => {
    const { action, nodeId, wait } = c.req.valid('json');
    const waitMs = waitMsOf(wait);
    const node = (await deps.nodes()).find((n) => n.id === nodeId);
    const baseline = async (): Promise<DrillBaseline | undefined> => (waitMs > 0 && node !== undefined ? watcher.baseline(action, node) : undefined);
    const follow = async (base: DrillBaseline | undefined, killedPid?: number): Promise<{ followUp?: DrillFollowUp }> =>
      base === undefined || node === undefined ? {} : { followUp: await watcher.follow(action, node, base, waitMs, killedPid) };
    if (action === 'undrain') {
      // A drain outlives the node (and restarts): a node discovery no longer knows can still be undrained.
      const base = await baseline();
      const wasDrained = await undrainNode(deps.redis, deps.keyPrefix, nodeId);
      if (!wasDrained && node === undefined) throw new MeshError('NOT_FOUND', `node ${nodeId} not found and not drained`, { detail: { field: 'nodeId' } });
      const did = wasDrained
        ? `undrained ${nodeId}: it takes new calls again once the signaling nodes re-read the drains (within 3 s)`
        : `${nodeId} was not drained; nothing changed`;
      const followUp = wasDrained ? await follow(base) : {};
      return c.json(answer({ action, nodeId, ...(node !== undefined ? { region: node.region, kind: node.kind } : {}), did, drained: false, wasDrained, ...followUp, completedAt: new Date().toISOString() }), 200);
    }
    if (node === undefined) throw new MeshError('NOT_FOUND', `node ${nodeId} not found`, { detail: { field: 'nodeId' } });
    // Drills act on the mesh the catalog describes, not on a stray registration sharing discovery.
    if (!regionIds.has(node.region)) {
      throw new MeshError('NOT_FOUND', `node ${nodeId} is in region ${node.region}, which is not in the catalog; regions: ${regionList(regionIds)}`, { detail: { field: 'nodeId' } });
    }
    const common = { action, nodeId, region: node.region, kind: node.kind, loadAtDrill: node.load };
    if (action === 'drain') {
      const base = await baseline();
      const drainedSince = await drainNode(deps.redis, deps.keyPrefix, nodeId);
      const what =
        node.kind === 'signaling'
          ? 'it answers new INVITEs 503 Node Draining with Retry-After and places no new calls'
          : 'no new call is placed on it';
      const did = `drained ${nodeId} until undrain: within 3 s ${what}; its ${node.load ?? 'unknown number of'} live ${node.kind === 'signaling' ? 'calls' : 'sessions'} go on until they end`;
      return c.json(answer({ ...common, did, drained: true, drainedSince, ...(await follow(base)), completedAt: new Date().toISOString() }), 200);
    }
    const base = await baseline();
    const killed = await withTimeout(deps.drills.kill(nodeId), drillTimeoutMs, `${action} of ${nodeId}`);
    const follows =
      node.kind === 'signaling'
        ? "the node's standby takes over its address and live calls once the lease expires (about 3 s); the supervisor restarts the killed process as the new standby"
        : node.kind === 'media'
          ? "its calls are re-anchored on another media node of the region once it is found dead; the supervisor restarts it"
          : 'the supervisor restarts it';
    const did = `SIGKILL to ${killed.process} (pid ${killed.pid}); ${follows}`;
    return c.json(answer({ ...common, ...killed, did, ...(await follow(base, killed.pid)), completedAt: new Date().toISOString() }), 200);
  });

  registerPricingRoutes(app, deps);

  // Registered after the routes, so only methods no route serves reach these.
  for (const [path, methods] of [...r.ALLOWED_METHODS, ...PRICING_ALLOWED_METHODS]) {
    app.all(path, (c) =>
      handleError(new MeshError('METHOD_NOT_ALLOWED', `${c.req.method} is not allowed on this resource`, { detail: { allow: methods.join(', ') } }), c),
    );
  }
  return app;
}
