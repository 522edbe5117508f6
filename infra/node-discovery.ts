/**
 * What a signaling node tells discovery, and what it learns from it:
 *
 * - itself, as service `signaling` (region, SIP address, capabilities, active
 *   calls), under a TTL: a SIGKILLed node drops out when its TTL lapses;
 * - each of its region's media nodes while the node's ng ping says it is
 *   healthy, as service `media` (capabilities from configuration, sessions
 *   from the registry). A ping that fails deregisters the node at once, so a
 *   SIGKILLed rtpengine leaves the healthy list within one health interval
 *   plus the ping timeout; if this signaling node dies too, the TTL removes it;
 * - the healthy media nodes of every region, watched (not polled): placement
 *   reaches remote resources through this view.
 *
 * The ping stays the source of a local node's health (it is what discovery is
 * fed from, and it still works when discovery does not).
 */
import type { MediaNodeRegistry } from '../media/nodes/registry.js';
import type { ServiceInstance } from '../regions/discovery/types.js';
import type { Config } from './config.js';
import { createMeshDiscovery, type MeshDiscovery, type MeshDiscoveryOptions } from './discovery.js';
import type { DiscoveryRegistrar } from '../regions/discovery/registrar.js';
import type { DiscoveryView } from '../regions/discovery/view.js';
import type { Logger } from '../regions/core/log.js';

/** The signaling node as discovery lists it. */
export function signalingInstance(config: Config, nodeId: string, activeCalls: number): ServiceInstance {
  return {
    id: nodeId,
    service: 'signaling',
    region: config.region,
    address: config.sip.address,
    port: config.sip.port,
    capabilities: ['anchor', ...config.sip.transports.map((t) => `sip-${t.toLowerCase()}`), ...(config.mesh.peers.length > 0 ? ['mesh'] : [])],
    meta: { transports: config.sip.transports.join(','), activeCalls: String(activeCalls) },
  };
}

/** A media node of this region as discovery lists it: address and port are its ng endpoint. */
export function mediaInstance(
  region: string,
  signalingNodeId: string,
  n: { id: string; address: string; ngPort: number; capabilities: readonly string[] },
  state: { sessions: number; drained: boolean },
): ServiceInstance {
  return {
    id: n.id,
    service: 'media',
    region,
    address: n.address,
    port: n.ngPort,
    // Every rtpengine relays; configuration lists what it does besides.
    capabilities: [...new Set(['relay', ...n.capabilities])],
    meta: { ngPort: String(n.ngPort), sessions: String(state.sessions), drained: state.drained ? '1' : '0', signalingNode: signalingNodeId },
  };
}

/** A central media service as discovery lists it: address and port are its region-link endpoint. */
export function centralMediaInstance(opts: { region: string; nodeId: string; address: string; port: number; capabilities?: readonly string[]; meta?: Record<string, string> }): ServiceInstance {
  return {
    id: opts.nodeId,
    service: 'central-media',
    region: opts.region,
    address: opts.address,
    port: opts.port,
    capabilities: [...(opts.capabilities ?? ['record'])],
    meta: { ...opts.meta },
  };
}

/**
 * Register a running central media service (service `central-media`, capability `record`,
 * address = its region-link endpoint); returns the withdraw function for its close().
 */
export function announceCentralMedia(
  registrar: DiscoveryRegistrar,
  opts: { region: string; nodeId: string; linkHost: string; linkPort: number; uploadUrl?: string; capabilities?: readonly string[] },
): () => Promise<void> {
  registrar.announce(
    centralMediaInstance({
      region: opts.region,
      nodeId: opts.nodeId,
      address: opts.linkHost,
      port: opts.linkPort,
      ...(opts.capabilities === undefined ? {} : { capabilities: opts.capabilities }),
      meta: opts.uploadUrl === undefined ? {} : { uploadUrl: opts.uploadUrl },
    }),
  );
  return () => registrar.withdraw(opts.nodeId);
}

export interface NodeDiscoveryDeps {
  config: Config;
  nodeId: string;
  log: Logger;
  media: MediaNodeRegistry;
  /** The node's live calls, announced as its load. */
  activeCalls: () => number;
  /** A media node (of any region) left the healthy list. */
  onMediaRemoved?: (nodeId: string) => void;
  options?: MeshDiscoveryOptions;
}

export interface NodeDiscovery {
  readonly mesh: MeshDiscovery;
  /** Healthy media nodes of every region. */
  readonly media: DiscoveryView;
  /** Re-announce now (load, drained, breaker state); also runs every discovery.loadUpdateMs. */
  refresh(): void;
  /** Deregister this node and its media nodes (bounded), stop watching. Idempotent; never throws. */
  close(): Promise<void>;
}

export function startNodeDiscovery(deps: NodeDiscoveryDeps): NodeDiscovery {
  const { config, nodeId, media } = deps;
  const log = deps.log.child({ part: 'discovery' });
  const mesh = createMeshDiscovery(config, log, deps.options);
  const configured = new Map(config.media.nodes.map((n) => [n.id, n]));
  const drained = (): Set<string> => new Set(media.drainedIds);

  const announceMedia = (id: string, drainedIds: Set<string>): void => {
    const n = configured.get(id);
    if (n === undefined) return;
    const sessions = media.callsOn(id).length;
    mesh.registrar.announce(mediaInstance(config.region, nodeId, n, { sessions, drained: drainedIds.has(id) }));
  };
  const withdrawMedia = (id: string): void => {
    if (!mesh.registrar.has(id)) return;
    void mesh.registrar.withdraw(id);
  };

  const refresh = (): void => {
    mesh.registrar.announce(signalingInstance(config, nodeId, deps.activeCalls()));
    const d = drained();
    for (const id of configured.keys()) {
      // Healthy = answering pings and its breaker not open (the registry's own notion of usable).
      if (media.isHealthy(id)) announceMedia(id, d);
      else withdrawMedia(id);
    }
  };

  // A ping that changes a node's health acts at once; the timer below catches the rest (load, breaker, drain).
  const offHealth = media.on('health', (ev) => {
    if (ev.healthy && media.isHealthy(ev.nodeId)) announceMedia(ev.nodeId, drained());
    else if (!ev.healthy) withdrawMedia(ev.nodeId);
  });
  const timer = setInterval(refresh, config.discovery.loadUpdateMs);
  timer.unref();
  refresh();

  const view = mesh.view({ service: 'media' });
  const offView = view.on((change) => {
    for (const gone of change.removed) {
      // A changed instance is reported as removed + added: only a real departure counts.
      if (!view.has(gone.id)) deps.onMediaRemoved?.(gone.id);
    }
  });

  let closing: Promise<void> | undefined;
  return {
    mesh,
    media: view,
    refresh,
    close: () =>
      (closing ??= (async () => {
        clearInterval(timer);
        offHealth();
        offView();
        await mesh.close();
      })()),
  };
}
