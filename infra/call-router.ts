/**
 * The call router of one signaling node (issue 5): the media cache, the DTMF
 * listener for the region's rtpengines, queues and recordings in Redis, and
 * the router itself, wired to the SIP side (inbound application calls,
 * API-originated calls, Dial legs through the originator).
 */
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { MediaCache } from '../media/cache/index.js';
import { DtmfEvents, LegMedia, platformSdp } from '../media/leg/index.js';
import type { MediaEngine } from '../media/engine/index.js';
import { MeshError } from '../regions/core/errors.js';
import { closeDigitRoute, openDigitRoute, readDigitRoute } from '../regions/store/digit-routes.js';
import type { DestinationPolicy } from '../regions/net/destination-policy.js';
import { RedisCallQueues } from '../regions/store/call-queues.js';
import { RedisRecordingSink } from '../regions/store/recording-sink.js';
import type { B2bua, InboundApps } from '../signaling/b2bua/b2bua.js';
import type { MediaPort } from '../signaling/b2bua/media-port.js';
import { AppResolver } from '../signaling/calls/app-resolver.js';
import type { FindNumberRecord } from '../signaling/calls/number-records.js';
import { InboundAppCalls, type LegMediaFactory } from '../signaling/calls/inbound-app.js';
import { withLegPlacement } from '../signaling/calls/leg-placement.js';
import type { MediaCapability, PlacementDecision } from '../regions/placement/types.js';
import type { Originator } from '../signaling/calls/originator.js';
import type { CallRegistry } from '../signaling/calls/registry.js';
import { CallRouter } from '../signaling/router/runner.js';
import type { SipStack } from '../signaling/sip/stack.js';
import type { Config } from './config.js';
import type { Logger } from '../regions/core/log.js';

export interface CallRouting {
  readonly router: CallRouter;
  readonly inbound: InboundAppCalls;
  readonly dtmf: DtmfEvents;
  readonly cache: MediaCache;
  /** What the B2BUA asks for each call anchored here (bind it to `lateInboundApps`). */
  readonly apps: InboundApps;
  close(): Promise<void>;
}

export interface CallRoutingDeps {
  config: Config;
  nodeId: string;
  stack: SipStack;
  b2bua: B2bua;
  mediaPort: MediaPort;
  /** A media node's engine, this region's or another's (discovery): application legs may sit at an edge. Throws when unknown. */
  engineOf: (nodeId: string) => MediaEngine;
  /** A media node's region (undefined when unknown): a leg on another region's node gets its digits through a digit route. */
  regionOfNode: (nodeId: string) => string | undefined;
  /** The placement policy's answer for a need of a leg on its node (RegistryMediaPort.decideFor), traced under `callKey`. */
  decideFor: (callKey: string, nodeId: string, capability: MediaCapability) => PlacementDecision;
  originator: Originator;
  /** The node's one registry of calls. */
  calls: CallRegistry;
  redis: Redis;
  /** The node's cached number lookup (signaling/calls/number-records.ts); absent: a store read per INVITE. */
  findNumber?: FindNumberRecord;
  log: Logger;
  /** Where tenants' URLs may point (webhooks.*, infra/webhook-policy.ts): documents, callbacks, Play media. */
  webhookPolicy: DestinationPolicy;
}

/** `ops` whose close() also runs `after` (once, after ops' own close). */
function withClose(ops: LegMedia, after: () => Promise<unknown>): ReturnType<LegMediaFactory> {
  let closed: Promise<void> | undefined;
  return {
    play: (file, durationMs, signal) => ops.play(file, durationMs, signal),
    sendDigits: (digits, signal) => ops.sendDigits(digits, signal),
    onDigit: (listener) => ops.onDigit(listener),
    startRecording: () => ops.startRecording(),
    mediaEndpoint: () => ops.mediaEndpoint(),
    connectMedia: (peer) => ops.connectMedia(peer),
    answerPartyOffer: () => ops.answerPartyOffer(),
    close: () => (closed ??= ops.close().finally(() => after().then(() => undefined))),
  };
}

/** An InboundApps that forwards to the router once it exists (the B2BUA is built before the router). */
export function lateInboundApps(): { apps: InboundApps; bind(target: InboundApps): void } {
  let target: InboundApps | undefined;
  return {
    apps: {
      resolve: (dialed) => (target === undefined ? Promise.resolve({ kind: 'none' }) : target.resolve(dialed)),
      accept: (req, tx, source, dialed, binding, need, client) => {
        if (target === undefined) return Promise.reject(new MeshError('SERVICE_UNAVAILABLE', 'call router not started'));
        return target.accept(req, tx, source, dialed, binding, need, client);
      },
    },
    bind: (t) => {
      target = t;
    },
  };
}

export async function startCallRouting(d: CallRoutingDeps): Promise<CallRouting> {
  const { config, log } = d;
  const runDir = config.runDir;
  const cache = await MediaCache.open({
    dir: config.router.cacheDir ?? join(runDir, 'media-cache'),
    maxFetchBytes: config.router.maxMediaBytes,
    fetchTimeoutMs: config.router.mediaFetchTimeoutMs,
    destinationPolicy: d.webhookPolicy,
  });
  const recordingsDir = config.router.recordingsDir ?? join(runDir, 'recordings');
  // Digits of calls that run in another region while their media is here go there (regions/store/digit-routes.ts):
  // to the peer's DTMF listener, through the region link.
  const dtmf = await DtmfEvents.listen({
    address: config.sip.address,
    port: config.media.dtmfEventPort,
    routeElsewhere: async (callId) => {
      const region = await readDigitRoute(d.redis, config.redis.keyPrefix, callId);
      const peer = region === undefined || region === config.region ? undefined : config.mesh.peers.find((p) => p.region === region);
      return peer === undefined ? undefined : { address: peer.address, port: config.media.dtmfEventPort };
    },
  });
  const legMedia: LegMediaFactory = (r) => {
    // Each media need of the leg (play, digits, record, bridge) asks the policy; traced under the key its placement used.
    const placed = (ops: ReturnType<LegMediaFactory>): ReturnType<LegMediaFactory> => withLegPlacement(ops, r.nodeId, (capability) => d.decideFor(r.callId, r.nodeId, capability));
    const region = d.regionOfNode(r.nodeId);
    if (region !== undefined && region !== config.region) {
      // The media node reports this leg's digits to its own region's node: tell it they are ours.
      void openDigitRoute(d.redis, config.redis.keyPrefix, r.callId, config.region).catch((e: unknown) => log.warn('digit route not stored', { callId: r.callId, error: e as Error }));
      return placed(withClose(legMediaOn(r), () => closeDigitRoute(d.redis, config.redis.keyPrefix, r.callId).catch(() => undefined)));
    }
    return placed(legMediaOn(r));
  };
  function legMediaOn(r: Parameters<LegMediaFactory>[0]): LegMedia {
    return new LegMedia({
      engine: d.engineOf(r.nodeId),
      callId: r.callId,
      partyTag: r.partyTag,
      platformTag: r.platformTag,
      offerer: r.offerer,
      partySdp: r.partySdp,
      platformEndpoint: r.platformEndpoint,
      dtmf,
      recordingsDir,
      rtpAddress: config.sip.address,
      ...(r.partyIsBrowser === true ? { partyIsBrowser: true } : {}),
    });
  }
  const publicBaseUrl = config.router.publicBaseUrl ?? `http://${config.controlPlane.address}:${config.controlPlane.port}`;
  const router = new CallRouter({
    media: {
      speech: (text, voice, language) => cache.getSpeech(text, voice, language),
      url: (url) => cache.getUrl(url),
      beep: () => cache.getBeep(),
    },
    dialer: d.originator,
    queues: new RedisCallQueues(d.redis, config.redis.keyPrefix),
    recordings: new RedisRecordingSink(d.redis, config.redis.keyPrefix, config.region, recordingsDir, publicBaseUrl),
    log: log.child({ component: 'call-router' }),
    limits: { maxActiveCalls: config.router.maxActiveCalls },
    webhookPolicy: d.webhookPolicy,
    latency: d.b2bua.latency,
  });
  d.originator.useRuntime({ router, legMedia });
  const inbound = new InboundAppCalls(d.stack, d.b2bua, d.mediaPort, legMedia, router, d.redis, log, {
    region: config.region,
    nodeId: d.nodeId,
    keyPrefix: config.redis.keyPrefix,
    calls: d.calls,
    platformSdp: () => platformSdp(),
    webhookPolicy: d.webhookPolicy,
    mediaOfferBudgetMs: config.media.offerBudgetMs,
  });
  const resolver = new AppResolver(d.redis, config.redis.keyPrefix, d.findNumber);
  let closing: Promise<void> | undefined;
  return {
    router,
    inbound,
    dtmf,
    cache,
    apps: {
      resolve: (dialed) => resolver.resolve(dialed),
      accept: (req, tx, source, dialed, binding, need, client) => inbound.accept(req, tx, source, dialed, binding, need, client),
    },
    close: () =>
      (closing ??= (async () => {
        await router.close();
        await inbound.close();
        await dtmf.close();
        await cache.close();
      })()),
  };
}
