/**
 * The control-plane process, built in-process from a validated configuration:
 * the tenant API (/2010-04-01), the operator API (/v1), /metrics and
 * /openapi.json on one hono server, for the whole mesh: it loads the region
 * catalog (every region), so tenants may be homed in any of them and the
 * operator sees and drills every region. `control-plane-main.ts` runs it as a
 * process; tests start it directly.
 */
import { processFamilies } from '../regions/core/metrics.js';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Redis } from 'ioredis';
import { createTenantApp } from '../control-plane/api/app.js';
import { RedisCallControl } from '../control-plane/api/call-control.js';
import { ApiRequestCounter } from '../control-plane/metrics/api-requests.js';
import { metricsHandler } from '../control-plane/metrics/handler.js';
import { readSnapshots } from '../control-plane/metrics/render.js';
import { createOperatorApp } from '../control-plane/operator/app.js';
import { mountSoftphone, softphoneConfig } from '../control-plane/softphone/app.js';
import { softphoneBuildDir } from '../control-plane/softphone/files.js';
import { DepartedNodes, nodesFromDiscovery, type DiscoveredNode } from '../control-plane/operator/node-view.js';
import { regionsFromCatalog } from '../control-plane/operator/region-view.js';
import type { DrillExecutor, KillOutcome, NodeInfo, NodeKind } from '../control-plane/operator/types.js';
import { listDrainedNodes, type DrainedNode } from '../regions/store/drained-nodes.js';
import { leaseHolderPid } from '../signaling/b2bua/lease.js';
import { loadRegionCatalog, type RegionCatalog } from '../regions/catalog.js';
import { MeshError } from '../regions/core/errors.js';
import { SecretBox } from '../regions/auth/secret-box.js';
import { keys } from '../regions/store/keys.js';
import type { Config } from './config.js';
import { createMeshDiscovery, type MeshDiscovery, type MeshDiscoveryOptions } from './discovery.js';
import { createRedisClient } from './redis.js';
import { createLogger, type Logger } from '../regions/core/log.js';
import { readPlacementTrace } from '../regions/store/placement-traces.js';
import { CallRecordStore } from '../regions/store/call-records.js';
import { TAG_TRACKER_LIMITS } from '../regions/store/trackers.js';
import { loadPlatformDeck } from '../regions/pricing/deck-file.js';
import { PriceDecks } from '../regions/pricing/store.js';

export interface ControlPlane {
  readonly url: string;
  readonly redis: Redis;
  readonly operator: { username: string; password: string };
  /** The discovery views behind /v1/.../nodes. */
  readonly discovery: MeshDiscovery;
  close(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Operator password; required (the launcher generates and persists one). */
  operatorPassword: string;
  /** Listen port override (0 = ephemeral, for tests). */
  port?: number;
  /**
   * File with `{"<name>": pid}` of the local mesh, for kill drills. Default <runDir>/pids.json.
   * A name is a node id, or `<node id>#<n>` for each process of a signaling node (active and
   * standby; the one killed is the one holding the node's lease).
   */
  pidsFile?: string;
  /** Discovery adapter override (tests). Default: the configured one. */
  discovery?: MeshDiscoveryOptions;
  /** Region catalog override (tests). Default: `config.regionsFile`, else $MESH_REGIONS, else the embedded one. */
  catalog?: RegionCatalog;
  /** The built softphone page served at /client/ (tests build their own). Default `<repo>/dist/client` (`npm run build`). */
  clientDir?: string;
}

/**
 * The process of the local mesh that serves `nodeId`: its own entry, or, for a
 * signaling node run as several processes (`<nodeId>#1`, `#2`: active and
 * standby), the one whose pid holds the node's lease. Only pids of the table
 * are ever returned, whatever the lease says.
 */
export async function servingProcess(nodeId: string, pids: Record<string, number>, readLease: () => Promise<string | null>): Promise<{ process: string; pid: number }> {
  const own = pids[nodeId];
  if (Number.isSafeInteger(own) && own! > 0) return { process: nodeId, pid: own! };
  const slots = Object.entries(pids).filter(([name, pid]) => name.startsWith(`${nodeId}#`) && Number.isSafeInteger(pid) && pid > 0);
  if (slots.length === 0) throw new MeshError('NOT_FOUND', `node ${nodeId} is not a process of the local mesh`);
  const holder = leaseHolderPid(await readLease());
  const serving = slots.find(([, pid]) => pid === holder);
  if (serving === undefined) {
    throw new MeshError('CONFLICT', `no process of ${nodeId} holds its lease now (a standby is taking over); try again in a few seconds`, { retryAfter: 3 });
  }
  return { process: serving[0], pid: serving[1] };
}

/**
 * The catalog the control plane serves: every region a tenant may be homed in
 * and the operator sees. The control plane's own region (the default home of
 * accounts created without one) must be one of them.
 */
function catalogFor(config: Config, given: RegionCatalog | undefined): RegionCatalog {
  const catalog = given ?? loadRegionCatalog(config.regionsFile);
  if (!catalog.hasRegion(config.region)) {
    throw new MeshError(
      'CONFIG_INVALID',
      `invalid configuration:\n  region: ${config.region} is not in the region catalog (${config.regionsFile ?? 'default'}); regions: ${[...catalog.regionIds].sort().join(', ')}`,
    );
  }
  return catalog;
}

export async function startControlPlane(config: Config, opts: ControlPlaneOptions, log: Logger = createLogger(config.logLevel)): Promise<ControlPlane> {
  const clog = log.child({ proc: 'control-plane', region: config.region });
  // Before anything connects: a bad catalog fails the start with the key it names.
  const catalog = catalogFor(config, opts.catalog);
  const platformDeck = loadPlatformDeck(config.pricesFile);
  const redis = createRedisClient(config.redis.url, { commandTimeoutMs: config.redis.commandTimeoutMs }, clog);
  const prefix = config.redis.keyPrefix;
  // The configured deck, unless the operator replaced it (that one survives restarts).
  try {
    const seeded = await new PriceDecks(redis, prefix).seedPlatform(platformDeck);
    clog.info('platform price deck', { deck: seeded, countries: platformDeck.countries.length, entries: platformDeck.entries.length });
  } catch (e) {
    clog.warn('platform price deck not written; prices wait for Redis (the next start writes it)', { error: e as Error });
  }

  const app = createTenantApp({
    redis,
    keyPrefix: prefix,
    defaultRegion: config.region,
    regions: [...catalog.regionIds],
    callControl: new RedisCallControl(redis, prefix),
    rateLimit: { requestsPerSecond: config.controlPlane.rateLimitPerSecond, burst: config.controlPlane.rateLimitBurst },
    authThrottle: {
      failuresPerAddress: config.controlPlane.authFailuresPerAddress,
      failuresPerPrincipal: config.controlPlane.authFailuresPerAccount,
      windowSeconds: config.controlPlane.authFailureWindowSeconds,
    },
    maxBodyBytes: config.controlPlane.maxBodyBytes,
    ...(config.secretsKey === undefined ? {} : { secrets: SecretBox.fromText(config.secretsKey) }),
    log: clog,
  });
  // The process entry refuses to start without one; started in-process without it, keys get no token secret.
  if (config.secretsKey === undefined) clog.warn('no secretsKey: API keys created now cannot verify access tokens');

  // Nodes come from discovery: watched healthy lists of every region (kept as last known while
  // discovery is away), plus the nodes seen to leave; metrics reports add ping times and errors.
  const discovery = createMeshDiscovery(config, clog, opts.discovery);
  const departed = new DepartedNodes();
  const kinds: NodeKind[] = ['signaling', 'media', 'central-media'];
  const views = kinds.map((kind) => {
    const view = discovery.view({ service: kind });
    view.on((change) => departed.record(kind, change));
    return { kind, view };
  });
  const nodes = async (): Promise<NodeInfo[]> => {
    const healthy: DiscoveredNode[] = views.flatMap(({ kind, view }) => view.instances().map((instance) => ({ kind, instance })));
    let snapshots: Awaited<ReturnType<typeof readSnapshots>> = [];
    try {
      snapshots = await readSnapshots(redis, prefix);
    } catch (e) {
      // Metrics only enrich the list; discovery's view stands without them.
      clog.debug('node metrics unavailable for /nodes', { error: e as Error });
    }
    // Drains are operator state: a Redis failure fails the listing rather than hiding them.
    const drained: DrainedNode[] = await listDrainedNodes(redis, prefix);
    return nodesFromDiscovery({ healthy, departed: departed.list(), snapshots, drained });
  };
  const pidsFile = opts.pidsFile ?? join(config.runDir, 'pids.json');
  const drills: DrillExecutor = {
    // Kill: SIGKILL the local mesh process serving that node, as a real failure would.
    async kill(nodeId): Promise<KillOutcome> {
      let pids: Record<string, number>;
      try {
        pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as Record<string, number>;
      } catch {
        throw new MeshError('CONFLICT', `no local mesh process table at ${pidsFile}: kill drills need the embedded default started by make start`);
      }
      const { process: name, pid } = await servingProcess(nodeId, pids, () => redis.get(keys(prefix).signalingLease(nodeId)));
      try {
        process.kill(pid, 'SIGKILL');
      } catch (e) {
        throw new MeshError('CONFLICT', `node ${nodeId} (${name}, pid ${pid}) is not running: ${(e as Error).message}`);
      }
      clog.warn('kill drill', { nodeId, process: name, pid });
      return { pid, signal: 'SIGKILL', process: name };
    },
  };
  const operator = { username: config.controlPlane.operatorUser, password: opts.operatorPassword };
  app.route(
    '/v1',
    createOperatorApp({
      redis,
      keyPrefix: prefix,
      operator,
      regions: regionsFromCatalog(catalog),
      nodes,
      drills,
      // The live trace (a day), else the copy the call record took when the call ended.
      placementTrace: async (callSid) => (await readPlacementTrace(redis, prefix, callSid)) ?? (/^CA[0-9a-f]{32}$/.test(callSid) ? (await new CallRecordStore(redis, prefix).get(callSid))?.placements : undefined),
      log: clog,
    }),
  );
  const ws = config.sip.websocket;
  mountSoftphone(app, {
    dir: opts.clientDir ?? softphoneBuildDir(),
    config: softphoneConfig(catalog.regions, config.region, { enabled: ws.enabled, port: ws.port, tls: ws.tls !== undefined }),
    log: clog,
  });
  const cp = config.controlPlane;
  const apiLimits = {
    requests_per_second: cp.rateLimitPerSecond,
    burst: cp.rateLimitBurst,
    max_body_bytes: cp.maxBodyBytes,
    auth_failures_per_address: cp.authFailuresPerAddress,
    auth_failures_per_account: cp.authFailuresPerAccount,
    auth_failure_window_seconds: cp.authFailureWindowSeconds,
    // Fixed limits of tags and trackers (regions/store/tags.ts, trackers.ts, tracker-measurements.ts).
    ...TAG_TRACKER_LIMITS,
  };
  const requests = new ApiRequestCounter();
  app.get(
    '/metrics',
    metricsHandler({
      redis,
      keyPrefix: prefix,
      extra: async () => ({ apiRequests: requests.snapshot(), limits: apiLimits, prom: await processFamilies() }),
      onError: (e) => clog.warn('metrics unavailable', { error: e as Error }),
    }),
  );
  // Every response is counted by API (tenant 401/429 included), outside the apps so nothing escapes it.
  const countedFetch = async (req: Request, env: unknown): Promise<Response> => {
    const res = await app.fetch(req, env);
    const path = new URL(req.url).pathname;
    requests.record(path.startsWith('/v1') ? 'operator' : path === '/metrics' ? 'metrics' : path === '/client' || path.startsWith('/client/') ? 'client' : 'tenant', req.method, res.status);
    return res;
  };

  const server: ServerType = serve({ fetch: countedFetch, hostname: cp.address, port: opts.port ?? cp.port });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', (e) => reject(new MeshError('CONFLICT', `control plane cannot listen on ${config.controlPlane.address}:${opts.port ?? config.controlPlane.port}: ${e.message}`)));
    });
  } catch (e) {
    await discovery.close();
    redis.disconnect();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.controlPlane.address}:${port}`;
  clog.info('control plane up', { url, regions: catalog.regionIds.join(',') });

  let closing: Promise<void> | undefined;
  return {
    url,
    redis,
    operator,
    discovery,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((r) => server.close(() => r()));
        await discovery.close();
        redis.disconnect();
      })()),
  };
}
