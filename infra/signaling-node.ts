/**
 * One signaling node, built in-process from a validated configuration:
 * Redis connection, the region's media node registry, the SIP stack and the
 * B2BUA. `node-main.ts` runs it as a process; integration tests start it
 * directly so they can inspect its counters.
 */
import type { Redis } from 'ioredis';
import { MediaNodeRegistry } from '../media/nodes/registry.js';
import { AdmissionControl } from '../signaling/b2bua/admission.js';
import { B2bua } from '../signaling/b2bua/b2bua.js';
import { meshRouting, staticMeshRouting } from '../signaling/b2bua/mesh.js';
import { NumberHomes } from '../signaling/calls/number-homes.js';
import { findNumber } from '../regions/store/numbers.js';
import { NumberRecords } from '../signaling/calls/number-records.js';
import { CommandConsumer } from '../signaling/calls/command-consumer.js';
import { Originator } from '../signaling/calls/originator.js';
import { mediaNodeDown, ownNodeCalls, runCallCommand } from '../signaling/calls/node-calls.js';
import { CallRegistry } from '../signaling/calls/registry.js';
import { CallStore } from '../signaling/b2bua/call-store.js';
import { adoptCalls, type AdoptReport } from '../signaling/b2bua/adopt.js';
import { recordTakeover } from '../regions/store/takeovers.js';
import { SignalingLease } from '../signaling/b2bua/lease.js';
import { RouteTable } from '../signaling/b2bua/routes.js';
import { SipStack } from '../signaling/sip/stack.js';
import type { Config } from './config.js';
import { createLogger, type Logger } from '../regions/core/log.js';
import { createRedisClient } from './redis.js';
import { inboundAccounting, inboundRateCapture } from '../signaling/calls/inbound-accounting.js';
import { EdgeBranchRecorder } from '../media/edge-recording/index.js';
import { recordingCentrals } from './recording-centrals.js';
import { RegistryMediaPort } from '../media/nodes/media-port.js';
import { choosePlacement, placementTraceEntry } from '../control-plane/placement/index.js';
import { startMetricsPublisher } from '../regions/store/node-metrics.js';
import { publishedSnapshot } from './node-metrics.js';
import { loadCarriers } from '../regions/store/carriers.js';
import { aliasPlacementTrace, appendPlacementTrace } from '../regions/store/placement-traces.js';
import { WriteBatcher } from '../regions/store/write-batcher.js';
import { keys } from '../regions/store/keys.js';
import { listDrainedNodes } from '../regions/store/drained-nodes.js';
import { DiscoveredMediaNodes } from '../media/nodes/discovered.js';
import { startNodeDiscovery, type NodeDiscovery } from './node-discovery.js';
import { lateInboundApps, startCallRouting, type CallRouting } from './call-router.js';
import { platformSdp } from '../media/leg/index.js';
import { webhookPolicyFromConfig } from './webhook-policy.js';
import { ClientRegistrar } from '../signaling/clients/registrar.js';
import type { ClientAuthenticator } from '../signaling/clients/authenticator.js';
import { accessTokenAuthenticator } from '../signaling/clients/token-authenticator.js';
import { ClientCalls } from '../signaling/clients/client-calls.js';
import { AppResolver } from '../signaling/calls/app-resolver.js';
import { AccessTokenResolver } from '../regions/auth/token-resolver.js';
import { SecretBox } from '../regions/auth/secret-box.js';

export interface SignalingNode {
  readonly config: Config;
  readonly nodeId: string;
  readonly stack: SipStack;
  readonly b2bua: B2bua;
  /** Admission control of new INVITEs (limits from config.sip.admission). */
  readonly admission: AdmissionControl;
  /** Every call this node handles (B2BUA, inbound application, originated, Dial legs): capacity, load, dispatch. */
  readonly calls: CallRegistry;
  readonly media: MediaNodeRegistry;
  readonly redis: Redis;
  readonly store: CallStore;
  /** The node's batched Redis writes (call state, placement traces). */
  readonly writes: WriteBatcher;
  readonly mediaPort: RegistryMediaPort;
  /** Records calls through the home region's central media service, when configured. */
  readonly recorder: EdgeBranchRecorder | undefined;
  readonly originator: Originator;
  /** The call router and its inbound side, media cache and DTMF listener. */
  readonly routing: CallRouting;
  readonly commands: CommandConsumer;
  /** Who serves this node's address: held (and renewed) while this process is active. */
  readonly lease: SignalingLease;
  /** Set when this process started as a standby and took over: what it adopted and how long it took. */
  readonly takeover: TakeoverReport | undefined;
  /** Registration in discovery (this node, its healthy media nodes) and the watched media nodes of every region. */
  readonly discovery: NodeDiscovery;
  /** Browser/app client registrations over WebSocket; undefined when `sip.websocket.enabled` is false. */
  readonly registrar: ClientRegistrar | undefined;
  /** Browser/app clients' outgoing calls (their own over WebSocket, and those peer edges forward here as the home). */
  readonly clientCalls: ClientCalls;
  /** Reload the region's carriers and the drained nodes (this one: refuse new calls; its media nodes: place nothing new) from Redis now (also done every 3 s). */
  reloadCarriers(): Promise<void>;
  /** Stop taking calls, hang up live ones, close sockets and connections. Idempotent. */
  close(): Promise<void>;
}

export interface SignalingNodeOptions {
  /**
   * Start as a standby: wait until the node's lease expires (its active
   * process died), then take the lease, the SIP address and the live calls.
   * Default false.
   */
  standby?: boolean;
  /** Lease time to live; a standby takes over at most this long after the active stops renewing. Default 3000 ms. */
  leaseTtlMs?: number;
  /** A standby calls this once it is waiting for the lease. */
  onStandby?: () => void;
  /**
   * Another process took the lease: this one must stop serving at once, without
   * hanging up (the calls are the other process's now). Default: log only.
   */
  onLeaseLost?: () => void;
  /** How long a standby keeps trying to bind the SIP address after taking the lease. Default 30000 ms. */
  bindRetryMs?: number;
  /**
   * Who a client REGISTER or INVITE is from. Default: access tokens (`accessTokenAuthenticator`
   * on the store, keys opened with `secretsKey`; without one every client gets 503).
   */
  clientAuthenticator?: ClientAuthenticator;
}

export interface TakeoverReport extends AdoptReport {
  /** From taking the lease to the calls being adopted, ms. */
  takeoverMs: number;
}

export async function startSignalingNode(config: Config, log: Logger = createLogger(config.logLevel), opts: SignalingNodeOptions = {}): Promise<SignalingNode> {
  const nodeId = config.nodeId ?? `${config.region}-sig-1`;
  const nlog = log.child({ node: nodeId, region: config.region });

  // Lazy: a node without Redis still carries calls (connected just below, failure tolerated).
  const redis = createRedisClient(config.redis.url, { commandTimeoutMs: config.redis.commandTimeoutMs, lazyConnect: true }, nlog);
  try {
    await redis.connect();
  } catch (e) {
    // A node without Redis still carries calls; state becomes visible when Redis returns.
    nlog.warn('redis not reachable at start; continuing without live state until it is', { url: config.redis.url, error: e as Error });
  }
  // Every per-call write (call state, placement traces) goes out in one pipeline per 10 ms.
  const writes = new WriteBatcher(redis, nlog, { timeoutMs: config.redis.commandTimeoutMs });
  const store = new CallStore(redis, nlog, { keyPrefix: config.redis.keyPrefix, nodeId, batcher: writes });

  const media = new MediaNodeRegistry({
    region: config.region,
    nodes: config.media.nodes.map((n) => ({ id: n.id, address: n.address, ngPort: n.ngPort, capabilities: n.capabilities, rtpPortMin: n.rtpPortMin, rtpPortMax: n.rtpPortMax })),
    healthIntervalMs: config.media.healthIntervalMs,
    fullForMs: config.media.fullForMs,
    ngTimeoutMs: config.media.ngTimeoutMs,
  });
  media.on('health', (ev) => nlog.info('media node health', { ...ev }));
  await media.start();

  const lease = new SignalingLease(redis, nlog, { key: keys(config.redis.keyPrefix).signalingLease(nodeId), ...(opts.leaseTtlMs !== undefined ? { ttlMs: opts.leaseTtlMs } : {}) });
  const onLeaseLost = opts.onLeaseLost ?? (() => nlog.error('this process no longer holds the node lease'));
  let leaseAt: number | undefined;
  if (opts.standby === true) {
    nlog.info('standby: waiting for the node lease', { key: lease.key, ttlMs: lease.ttlMs });
    opts.onStandby?.();
    await lease.waitUntilAcquired();
    leaseAt = Date.now();
    lease.startRenewing(onLeaseLost);
    nlog.warn('standby: lease taken, taking over the node', { key: lease.key });
  }

  let stack: SipStack;
  try {
    stack = await bindStack(config, opts.standby === true ? (opts.bindRetryMs ?? 30_000) : 0, nlog);
  } catch (e) {
    await lease.close();
    await media.close();
    redis.disconnect();
    throw e;
  }
  if (opts.standby !== true) {
    // The active owns the address now (the bind proved no one else serves it): claim the lease.
    try {
      await lease.seize();
    } catch (e) {
      nlog.warn('could not write the node lease; a standby cannot tell this node is alive', { error: e as Error });
    }
    lease.startRenewing(onLeaseLost);
  }

  // One cached number lookup per node: application resolution on every INVITE and accounting on every ended call.
  const numberRecords = new NumberRecords((dialed) => findNumber(redis, config.redis.keyPrefix, dialed), { ttlMs: config.mesh.numberHomeCacheMs });
  const accounting = inboundAccounting(redis, config.redis.keyPrefix, config.region, nodeId, nlog, (dialed) => numberRecords.find(dialed));
  const captureInboundRate = inboundRateCapture(redis, config.redis.keyPrefix, config.region, nlog, (dialed) => numberRecords.find(dialed));
  const centrals = recordingCentrals(config);
  const recorder =
    centrals.centrals.length > 0 && config.recording.prefixes.length > 0
      ? new EdgeBranchRecorder(media, nlog, {
          region: config.region,
          nodeId,
          ...centrals,
          // The edge's own copy of each branch, uploaded after the call; the folder outlives the process (and a standby of the node reuses it).
          localStore: { dir: `${config.runDir}/media-store/${nodeId}`, rtpAddress: config.sip.address },
          usage: { redis, keyPrefix: config.redis.keyPrefix },
        })
      : undefined;
  const calls = new CallRegistry({ maxCalls: config.sip.maxCalls, retryAfterSeconds: config.sip.retryAfterSeconds });

  // ---- discovery (issue 3): register this node and its healthy media nodes; placement also sees
  // every region's healthy media nodes from the watched list. Never blocks start-up or throws:
  // with Redis/Consul away the node serves with its last known view and retries.
  const discovery = startNodeDiscovery({
    config,
    nodeId,
    log: nlog,
    media,
    activeCalls: () => calls.size,
    // A discovered node (another region's) that left the healthy list: move the calls placed on it.
    onMediaRemoved: (id) => {
      if (media.node(id) !== undefined) return; // local nodes: the registry's health event does it
      void mediaNodeDown(calls, id, nlog);
    },
  });
  const discoveredMedia = new DiscoveredMediaNodes(discovery.media, { ngTimeoutMs: config.media.ngTimeoutMs });
  // ---- end of discovery wiring

  const b2buaMediaPort = new RegistryMediaPort(media, { region: config.region, choosePlacement, discovered: discoveredMedia, linkDelaysMs: config.mesh.linkDelaysMs, linkMatrixMs: config.mesh.linkMatrixMs, onDecision: (callKey, made) => {
    const entry = placementTraceEntry(made.seq, made.atMs, made.input, made.decision);
    appendPlacementTrace(writes, config.redis.keyPrefix, callKey, entry).catch((e: unknown) => nlog.debug('placement trace not stored', { error: e as Error }));
  } });
  const routeTable = new RouteTable(config.routes);
  const admission = new AdmissionControl(config.sip.admission, {
    invitesInFlight: () => stack.invitesInFlight,
    freeMediaPorts: () => media.freePorts(),
  });
  admission.start();
  const inboundApps = lateInboundApps();
  const ws = config.sip.websocket;
  // Browser/app clients: access tokens verified with the key secrets sealed under the platform secrets key.
  if (config.secretsKey === undefined && opts.clientAuthenticator === undefined) {
    nlog.warn('no secretsKey (SECRETS_KEY): access tokens cannot be verified, so every browser/app client is refused with 503 until one is configured');
  }
  const clientAuthenticator =
    opts.clientAuthenticator ??
    accessTokenAuthenticator(new AccessTokenResolver({ redis, keyPrefix: config.redis.keyPrefix, secrets: config.secretsKey === undefined ? undefined : SecretBox.fromText(config.secretsKey) }));
  const clientCalls = new ClientCalls(clientAuthenticator, new AppResolver(redis, config.redis.keyPrefix), stack, {
    region: config.region,
    nodeId,
    timeoutMs: Math.max(config.redis.commandTimeoutMs * 4, 2000),
  });
  const registrar = ws.enabled
    ? new ClientRegistrar(stack, redis, clientAuthenticator, nlog, {
        region: config.region,
        nodeId,
        keyPrefix: config.redis.keyPrefix,
        minExpiresSeconds: ws.registrations.minExpiresSeconds,
        maxExpiresSeconds: ws.registrations.maxExpiresSeconds,
        defaultExpiresSeconds: ws.registrations.defaultExpiresSeconds,
        maxBindingsPerIdentity: ws.registrations.maxPerIdentity,
        timeoutMs: Math.max(config.redis.commandTimeoutMs * 4, 2000),
      })
    : undefined;
  // The previous process of this node (or the active a standby replaces) took its WebSocket connections with it.
  if (registrar !== undefined) {
    await registrar.purgeStale().then(
      (n) => (n > 0 ? nlog.info('removed client registrations of a previous process', { removed: n }) : undefined),
      (e: unknown) => nlog.warn('could not purge old client registrations; their TTL ends them', { error: e as Error }),
    );
  }
  const b2bua = new B2bua(stack, b2buaMediaPort, routeTable, store, nlog, {
    inboundApps: inboundApps.apps,
    region: config.region,
    nodeId,
    calls,
    retryAfterSeconds: config.sip.retryAfterSeconds,
    noAnswerTimeoutMs: config.noAnswerTimeoutSeconds * 1000,
    admission,
    mediaOfferBudgetMs: config.media.offerBudgetMs,
    ...(config.mesh.peers.length > 0 || config.mesh.homeRules.length > 0
      ? {
          mesh: meshRouting(
            staticMeshRouting({ region: config.region, peers: config.mesh.peers, homeRules: config.mesh.homeRules }),
            // Over the node's one number cache (no second cache: a change is seen within one TTL, not two).
            new NumberHomes((dialed) => numberRecords.find(dialed), nlog, { ttlMs: 0, timeoutMs: config.redis.commandTimeoutMs }),
          ),
        }
      : {}),
    applicationMedia: config.mesh.applicationMedia,
    onCallAnswered: (a) => {
      captureInboundRate(a);
      if (recorder !== undefined && config.recording.prefixes.some((p) => a.to.startsWith(p))) void recorder.start(a);
    },
    onCallEnded: (e) => {
      if (recorder !== undefined) void recorder.stop(e.sid);
      accounting(e);
      // The trace is kept under the first leg's Call-ID; the live record saying so outlives the call by an hour only.
      if (!e.forwardedHome) aliasPlacementTrace(writes, config.redis.keyPrefix, e.sid, e.traceKey).catch((err: unknown) => nlog.debug('placement trace alias not stored', { error: err as Error }));
    },
    // Re-check one health interval later, so a single lost ping does not move calls.
    reanchor: { confirmMs: config.media.healthIntervalMs + 100 },
    ...(registrar !== undefined ? { onClientRegister: (req, tx, source) => registrar.handle(req, tx, source), clients: registrar } : {}),
    clientCalls,
  });

  // A media node reported dead: the owners of the node's calls act on theirs (signaling/calls/node-calls.ts).
  const offHealth = media.on('health', (ev) => {
    if (!ev.healthy) void mediaNodeDown(calls, ev.nodeId, nlog);
  });


  // A standby that took over: the dead process's answered calls are ours now. No await may come
  // between binding the address and this call: adoptCalls holds in-dialog requests for unknown
  // dialogs until the calls are loaded (a BYE answered 481 meanwhile would strand its call).
  let takeover: TakeoverReport | undefined;
  if (opts.standby === true) {
    try {
      const adopted = await adoptCalls(b2bua, store, b2buaMediaPort, nodeId, nlog);
      takeover = { ...adopted, takeoverMs: Date.now() - (leaseAt ?? Date.now()) };
    } catch (e) {
      // Redis failed mid-read: serve new calls anyway; the old ones end when their parties give up.
      nlog.error('could not load the calls to take over', { error: e as Error });
      takeover = { adopted: 0, skipped: 0, reanchoring: 0, ms: 0, takeoverMs: Date.now() - (leaseAt ?? Date.now()) };
    }
    // For the operator API: a kill drill that waits for its effect reads when and what was taken over.
    const t = takeover;
    recordTakeover(redis, config.redis.keyPrefix, { nodeId, pid: process.pid, leaseAt: leaseAt ?? Date.now(), readyAt: Date.now(), adopted: t.adopted, skipped: t.skipped, reanchoring: t.reanchoring })
      .catch((e: unknown) => nlog.warn('takeover not recorded in redis', { error: e as Error }));
  }

  const webhookPolicy = webhookPolicyFromConfig(config);
  const originator = new Originator(stack, b2bua, b2buaMediaPort, routeTable, redis, nlog, {
    region: config.region,
    nodeId,
    keyPrefix: config.redis.keyPrefix,
    calls,
    platformSdp: () => platformSdp(),
    webhookPolicy,
    // Clients registered in other regions ring through those regions' signaling nodes.
    mesh: staticMeshRouting({ region: config.region, peers: config.mesh.peers, homeRules: [] }),
  });
  // The call router (applications of inbound numbers, API calls, Dial legs).
  let routing: CallRouting;
  try {
    routing = await startCallRouting({ config, nodeId, stack, b2bua, mediaPort: b2buaMediaPort, engineOf: (id) => b2buaMediaPort.engine(id), regionOfNode: (id) => b2buaMediaPort.regionOf(id), decideFor: (key, id, cap) => b2buaMediaPort.decideFor(key, id, cap), originator, calls, redis, findNumber: (dialed) => numberRecords.find(dialed), log: nlog, webhookPolicy });
  } catch (e) {
    await discovery.close().catch(() => undefined);
    await b2bua.close();
    await stack.close();
    await media.close();
    await lease.close();
    redis.disconnect();
    throw e;
  }
  inboundApps.bind(routing.apps);
  ownNodeCalls(calls, {
    b2bua,
    inbound: routing.inbound,
    originator,
    router: routing.router,
    isMediaHealthy: (id) => media.isHealthy(id),
    // Re-check one health interval later, so a single lost ping does not end calls.
    confirmMs: config.media.healthIntervalMs + 100,
    log: nlog,
  });
  // XREADGROUP blocks, so commands get their own connection.
  const commandRedis = redis.duplicate({ lazyConnect: false, commandTimeout: 3000 /* > the 1 s XREADGROUP block */ });
  commandRedis.on('error', (e) => nlog.debug('redis (commands) error', { error: e }));
  const commands = new CommandConsumer(
    commandRedis,
    (cmd) => runCallCommand(cmd, calls, originator),
    nlog,
    { region: config.region, nodeId, keyPrefix: config.redis.keyPrefix },
  );
  commands.start();

  // Carriers of the region and drained media nodes (operator API) are reloaded every few
  // seconds; a Redis failure keeps the last good set rather than opening or closing the door.
  const refreshCarriers = async (): Promise<void> => {
    try {
      b2bua.setCarriers(await loadCarriers(redis, config.redis.keyPrefix, config.region));
      const drained = new Set((await listDrainedNodes(redis, config.redis.keyPrefix)).map((d) => d.nodeId));
      media.setDrained(drained);
      if (drained.has(nodeId) !== calls.isDraining) nlog.warn(drained.has(nodeId) ? 'drained by an operator: refusing new calls' : 'undrained: taking new calls', { activeCalls: calls.size });
      calls.setDraining(drained.has(nodeId));
    } catch (e) {
      nlog.debug('carrier reload failed; keeping the previous set', { error: e as Error });
    }
  };
  await refreshCarriers();
  const carrierTimer = setInterval(() => void refreshCarriers(), 3000);
  carrierTimer.unref();

  let metrics: { close(): Promise<void> } | undefined;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(carrierTimer);
      admission.close();
      offHealth();
      // Leave discovery first, so no one places media through this node while it winds down.
      await discovery.close();
      await metrics?.close();
      await commands.close();
      await routing.close();
      await originator.close();
      await b2bua.close();
      registrar?.close();
      store.flush(); // the hang-ups' records go out now, before Redis is disconnected
      await recorder?.close();
      // Give the BYEs of the hang-ups a moment to leave before the sockets close.
      if (calls.size > 0 || stack.counters.sent > 0) await new Promise((r) => setTimeout(r, 200));
      await stack.close();
      await media.close();
      await discoveredMedia.close();
      await lease.close();
      redis.disconnect();
    })());

  nlog.info('signaling node up', {
    sip: `${config.sip.address}:${config.sip.port}`,
    transports: config.sip.transports,
    ...(ws.enabled ? { websocket: `${ws.tls !== undefined ? 'wss' : 'ws'}://${config.sip.address}:${ws.port}` } : {}),
    mediaNodes: config.media.nodes.map((n) => n.id),
  });
  const node: SignalingNode = { config, nodeId, stack, b2bua, admission, calls, media, redis, store, writes, mediaPort: b2buaMediaPort, recorder, originator, routing, commands, lease, takeover, discovery, registrar, clientCalls, close, reloadCarriers: refreshCarriers };
  metrics = startMetricsPublisher({
    redis,
    keyPrefix: config.redis.keyPrefix,
    snapshot: () => publishedSnapshot(node),
    log: nlog,
  });
  return node;
}

/**
 * Bind the SIP address. A standby retries for up to `retryMs`: the process it
 * replaces may still be holding the address for a moment after its lease ran out.
 */
async function bindStack(config: Config, retryMs: number, log: Logger): Promise<SipStack> {
  const until = Date.now() + retryMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await SipStack.start({
        address: config.sip.address,
        port: config.sip.port,
        transports: config.sip.transports,
        timers: { t1: config.sip.t1, t2: config.sip.t2, t4: config.sip.t4, trying: config.sip.tryingDelayMs, linger: config.sip.transactionLingerMs },
        limits: { maxMessageBytes: config.sip.maxMessageBytes, maxHeaders: config.sip.maxHeaders, maxLineBytes: config.sip.maxLineBytes },
        maxTransactions: config.sip.maxTransactions,
        ...(config.sip.websocket.enabled
          ? {
              websocket: {
                port: config.sip.websocket.port,
                ...(config.sip.websocket.tls !== undefined ? { tls: config.sip.websocket.tls } : {}),
                maxConnections: config.sip.websocket.maxConnections,
                handshakeTimeoutMs: config.sip.websocket.handshakeTimeoutMs,
                maxHandshakeBytes: config.sip.websocket.maxHandshakeBytes,
                pingIntervalMs: config.sip.websocket.pingIntervalMs,
                idleTimeoutMs: config.sip.websocket.idleTimeoutMs,
                maxWriteBufferBytes: config.sip.websocket.maxWriteBufferBytes,
              },
            }
          : {}),
      });
    } catch (e) {
      if (Date.now() >= until) throw e;
      if (attempt === 1) log.warn('SIP address still in use; retrying', { address: `${config.sip.address}:${config.sip.port}`, error: e as Error });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
