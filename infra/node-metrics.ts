/**
 * What one signaling node reports for /metrics: call counters of the B2BUA
 * and the originator, ng latency per media node (all commands summed into one
 * cumulative histogram), webhook counters, SIP drops and stack rejections;
 * and, as published, the prom-client histograms and process metrics.
 */
import { NG_LATENCY_BUCKETS_MS } from '../media/ng/latency.js';
import type { NodeMetricsSnapshot } from '../regions/store/schema.js';
import type { MediaNodeRegistry } from '../media/nodes/registry.js';
import type { RegistryMediaPort } from '../media/nodes/media-port.js';
import type { AdmissionControl } from '../signaling/b2bua/admission.js';
import type { B2bua } from '../signaling/b2bua/b2bua.js';
import type { Originator } from '../signaling/calls/originator.js';
import type { CallRegistry } from '../signaling/calls/registry.js';
import type { SipStack } from '../signaling/sip/stack.js';
import type { ClientRegistrar } from '../signaling/clients/registrar.js';
import type { Config } from './config.js';
import type { WriteBatcher } from '../regions/store/write-batcher.js';

/** The parts of a signaling node its metrics are read from (signaling-node.ts passes the node itself). */
export interface MetricsSources {
  readonly nodeId: string;
  readonly config: Pick<Config, 'region'>;
  readonly b2bua: Pick<B2bua, 'counters' | 'byeRetries'>;
  readonly stack: Pick<SipStack, 'counters'> & Partial<Pick<SipStack, 'websocketLimits' | 'transactions'>>;
  readonly media: MediaNodeRegistry;
  readonly calls: Pick<CallRegistry, 'size'> & Partial<Pick<CallRegistry, 'isDraining'>>;
  readonly originator: Pick<Originator, 'webhookStats'>;
  readonly mediaPort: Pick<RegistryMediaPort, 'placements'>;
  /** Absent in callers that build no admission control. */
  readonly admission?: Pick<AdmissionControl, 'stats'>;
  /** The node's batched Redis writes; absent in callers that build none. */
  readonly writes?: Pick<WriteBatcher, 'stats'>;
  /** Absent (or undefined) when the node serves no WebSocket clients. */
  readonly registrar?: Pick<ClientRegistrar, 'counters' | 'activeBindings'> | undefined;
}

export function nodeMetricsSnapshot(node: MetricsSources): NodeMetricsSnapshot {
  const c = node.b2bua.counters;
  const sip = node.stack.counters;
  const ngLatency: NodeMetricsSnapshot['ngLatency'] = {};
  for (const snap of node.media.snapshot()) {
    const mediaNode = node.media.node(snap.id);
    if (mediaNode === undefined) continue;
    const buckets: Record<string, number> = {};
    let sumMs = 0;
    let count = 0;
    for (const cmd of mediaNode.client.stats().commands) {
      // Cumulative buckets aligned with NG_LATENCY_BUCKETS_MS, the last one +Inf; replies only.
      cmd.buckets.forEach((n, i) => {
        const le = NG_LATENCY_BUCKETS_MS[i];
        const label = le === undefined ? '+Inf' : String(le);
        buckets[label] = (buckets[label] ?? 0) + n;
      });
      sumMs += cmd.sumMs;
      count += cmd.buckets[cmd.buckets.length - 1] ?? 0;
    }
    ngLatency[snap.id] = { buckets, sumMs, count };
  }
  const failures: Record<string, number> = {};
  for (const [status, n] of Object.entries(c.failures)) failures[status] = n;
  return {
    nodeId: node.nodeId,
    region: node.config.region,
    at: Date.now(),
    activeCalls: node.calls.size,
    callAttempts: c.attempts,
    callFailures: failures,
    ngLatency,
    webhook: { ...node.originator.webhookStats },
    placements: { ...node.mediaPort.placements },
    media: node.media.snapshot().map((m) => ({ ...m, capabilities: [...m.capabilities] })),
    drained: node.media.drainedIds,
    ...(node.calls.isDraining === undefined ? {} : { draining: node.calls.isDraining }),
    sip: { dropped: { ...sip.droppedByReason }, rejected: { ...sip.rejected }, oversized: sip.oversized, refusedStateless: sip.refusedStateless, ...(node.stack.transactions === undefined ? {} : { transactions: node.stack.transactions }) },
    byes: { ...node.b2bua.byeRetries.counters, pending: node.b2bua.byeRetries.pending },
    ...(node.admission === undefined ? {} : { admission: admissionView(node.admission) }),
    ...(node.writes === undefined ? {} : { redisWrites: node.writes.stats }),
    ...websocketView(node),
  };
}

/**
 * The snapshot as published: nodeMetricsSnapshot plus the node's prom-client
 * histograms and the process metrics (regions/core/metrics.ts), which
 * prom-client collects asynchronously.
 */
export async function publishedSnapshot(node: MetricsSources & { readonly b2bua: Pick<B2bua, 'latency'> }): Promise<NodeMetricsSnapshot> {
  return { ...nodeMetricsSnapshot(node), prom: await node.b2bua.latency.families() };
}

function admissionView(a: Pick<AdmissionControl, 'stats'>): NonNullable<NodeMetricsSnapshot['admission']> {
  const s = a.stats();
  return {
    limits: { ...s.limits },
    eventLoopDelayMs: s.eventLoopDelayMs,
    eventLoopUtilization: s.eventLoopUtilization,
    admitShare: s.admitShare,
    invitesInFlight: s.invitesInFlight,
    ...(s.freeMediaPorts === undefined ? {} : { freeMediaPorts: s.freeMediaPorts }),
    refused: { ...s.refused },
  };
}

function websocketView(node: MetricsSources): Pick<NodeMetricsSnapshot, 'websocket'> {
  const limits = node.stack.websocketLimits;
  if (limits === undefined) return {};
  const c = node.stack.counters;
  const r = node.registrar;
  return {
    websocket: {
      maxConnections: limits.maxConnections,
      connections: c.wsConnections,
      refused: { ...c.wsRefused },
      bindings: r?.activeBindings ?? 0,
      registered: r?.counters.registered ?? 0,
      unregistered: r?.counters.unregistered ?? 0,
      connectionClosed: r?.counters.connectionClosed ?? 0,
      registerRefused: { ...(r?.counters.refused ?? {}) },
    },
  };
}
