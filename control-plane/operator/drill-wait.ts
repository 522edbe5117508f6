/**
 * What follows a drill, for a caller that asks to wait for it (`wait` on
 * POST /v1/drills): the API looks at the mesh every `pollMs` until the
 * drill's effect is seen or the wait runs out, and reports when it saw what.
 *
 * | drill | detection: first seen | recovery: calls back in service |
 * |---|---|---|
 * | kill, media node | the node not healthy in the node list | no live call record points at the node any more (each moved to another node, or ended) |
 * | kill, signaling node | the standby took the node's lease (its takeover record) | the standby serves the address with the calls adopted (same record) |
 * | drain / undrain | a signaling node's metrics report (newer than the drill) shows the change | — |
 *
 * Times are ms from the drill (just before it acts). Calls affected: the live
 * calls on the node when the drill ran (kill), or the calls that go on (drain).
 */
import type { Redis } from 'ioredis';
import { keys } from '../../regions/store/keys.js';
import { readSnapshots } from '../../regions/store/node-metrics.js';
import { lastTakeover } from '../../regions/store/takeovers.js';
import type { NodeInfo } from './types.js';

export interface DrillWaitDeps {
  redis: Redis;
  keyPrefix: string;
  nodes: () => Promise<NodeInfo[]> | NodeInfo[];
  /** Default 100 ms. */
  pollMs?: number;
  now?: () => number;
}

export interface DrillFollowUp {
  /** Everything the drill leads to was seen within the wait. */
  complete: boolean;
  waitedMs: number;
  /** Drill → its effect first seen; null when not seen within the wait. */
  detectionMs: number | null;
  /** Drill → its calls back in service (kills only); null when not seen, or for drain / undrain. */
  recoveryMs: number | null;
  /** Live calls on the node at the drill (kill), or calls it keeps carrying (drain). */
  callsAffected: number | null;
  /** Media kill: calls now on another media node; signaling kill: calls the standby adopted. */
  callsMoved?: number;
  callsAdopted?: number;
  /** Media kill: affected calls that ended instead (re-anchor failed, or the parties hung up meanwhile). */
  callsEnded?: number;
  /** What was seen, in words. */
  observed: string;
}

/** What is read before the drill acts. */
export interface DrillBaseline {
  at: number;
  /** Media kill: the live calls on the node. */
  sids?: string[];
  callsAffected: number | null;
}

/** Most live-call records read per signaling node (the live set is bounded by the node's maxCalls). */
const MAX_SIDS = 50_000;
const MGET_CHUNK = 500;

interface LiveCall {
  mediaNodeId?: string;
  endedAt?: number;
}

export class DrillWatcher {
  private readonly pollMs: number;
  private readonly now: () => number;

  constructor(private readonly deps: DrillWaitDeps) {
    this.pollMs = deps.pollMs ?? 100;
    this.now = deps.now ?? Date.now;
  }

  /** Read what the follow-up compares against; call just before the drill acts. */
  async baseline(action: string, node: NodeInfo): Promise<DrillBaseline> {
    const at = this.now();
    if (action === 'kill' && node.kind === 'media') {
      const sids = await this.callsOnMedia(node);
      return { at, sids, callsAffected: sids.length };
    }
    if (action === 'kill' && node.kind === 'signaling') {
      return { at, callsAffected: await this.deps.redis.scard(keys(this.deps.keyPrefix).nodeLiveCalls(node.id)) };
    }
    return { at, callsAffected: node.kind === 'central-media' ? null : node.load };
  }

  /** Wait (at most `waitMs`) for what follows the drill. `killedPid`: the process a kill signalled. */
  async follow(action: 'kill' | 'drain' | 'undrain', node: NodeInfo, base: DrillBaseline, waitMs: number, killedPid?: number): Promise<DrillFollowUp> {
    const until = base.at + waitMs;
    const since = (): number => this.now() - base.at;
    const done = (f: Omit<DrillFollowUp, 'waitedMs' | 'callsAffected'>): DrillFollowUp => ({ ...f, waitedMs: since(), callsAffected: base.callsAffected });
    const poll = async <T>(check: () => Promise<T | undefined>): Promise<T | undefined> => {
      for (;;) {
        const v = await check().catch(() => undefined); // a failed read is retried on the next poll
        if (v !== undefined) return v;
        if (this.now() >= until) return undefined;
        await new Promise((r) => setTimeout(r, this.pollMs));
      }
    };

    if (action === 'kill' && node.kind === 'signaling') {
      const t = await poll(async () => {
        const rec = await lastTakeover(this.deps.redis, this.deps.keyPrefix, node.id);
        return rec !== undefined && rec.pid !== killedPid && rec.readyAt >= base.at ? rec : undefined;
      });
      if (t === undefined) return done({ complete: false, detectionMs: null, recoveryMs: null, observed: `no standby took ${node.id} over within ${waitMs} ms` });
      return done({
        complete: true,
        detectionMs: Math.max(0, t.leaseAt - base.at),
        recoveryMs: Math.max(0, t.readyAt - base.at),
        callsAdopted: t.adopted,
        observed: `the standby (pid ${t.pid}) took the lease and serves ${node.id} with ${t.adopted} call(s) adopted${t.reanchoring > 0 ? `, ${t.reanchoring} of them being re-anchored` : ''}`,
      });
    }

    if (action === 'kill') {
      const seenDead = await poll(async () => {
        const n = (await this.deps.nodes()).find((x) => x.id === node.id);
        return n === undefined || !n.healthy ? since() : undefined;
      });
      if (seenDead === undefined) return done({ complete: false, detectionMs: null, recoveryMs: null, observed: `${node.id} still shown healthy after ${waitMs} ms` });
      if (node.kind !== 'media') return done({ complete: true, detectionMs: seenDead, recoveryMs: null, observed: `${node.id} shown dead` });
      const sids = base.sids ?? [];
      const settled = await poll(async () => {
        const calls = await this.readCalls(sids);
        const left = calls.filter((c) => c !== undefined && c.endedAt === undefined && c.mediaNodeId === node.id).length;
        if (left > 0) return undefined;
        const moved = calls.filter((c) => c !== undefined && c.endedAt === undefined).length;
        return { at: since(), moved, ended: sids.length - moved };
      });
      if (settled === undefined) {
        return done({ complete: false, detectionMs: seenDead, recoveryMs: null, observed: `${node.id} shown dead; some of its ${sids.length} call(s) still on it after ${waitMs} ms` });
      }
      return done({
        complete: true,
        detectionMs: seenDead,
        recoveryMs: Math.max(seenDead, settled.at),
        callsMoved: settled.moved,
        callsEnded: settled.ended,
        observed: `${node.id} shown dead; of its ${sids.length} call(s), ${settled.moved} re-anchored on another node, ${settled.ended} ended`,
      });
    }

    // drain / undrain: the region's signaling nodes report the change in their metrics.
    const drained = action === 'drain';
    const seen = await poll(async () => {
      const snaps = (await readSnapshots(this.deps.redis, this.deps.keyPrefix)).filter((s) => s.at >= base.at);
      const ok = node.kind === 'signaling'
        ? snaps.some((s) => s.nodeId === node.id && s.draining === drained)
        : snaps.some((s) => s.region === node.region && (s.drained ?? []).includes(node.id) === drained);
      return ok ? since() : undefined;
    });
    const what = drained ? (node.kind === 'signaling' ? 'refusing new calls' : 'taking no new calls') : 'taking new calls again';
    if (seen === undefined) return done({ complete: false, detectionMs: null, recoveryMs: null, observed: `no report of ${node.id} ${what} within ${waitMs} ms` });
    return done({ complete: true, detectionMs: seen, recoveryMs: null, observed: `${node.id} reported ${what}` });
  }

  /** Live B2BUA calls on a media node: records of the region's signaling nodes whose mediaNodeId is it. */
  private async callsOnMedia(node: NodeInfo): Promise<string[]> {
    const k = keys(this.deps.keyPrefix);
    const signaling = (await this.deps.nodes()).filter((n) => n.kind === 'signaling' && n.region === node.region);
    const sids: string[] = [];
    for (const s of signaling) sids.push(...(await this.deps.redis.smembers(k.nodeLiveCalls(s.id))).slice(0, MAX_SIDS));
    const calls = await this.readCalls(sids);
    return sids.filter((_, i) => calls[i] !== undefined && calls[i].endedAt === undefined && calls[i].mediaNodeId === node.id);
  }

  private async readCalls(sids: string[]): Promise<(LiveCall | undefined)[]> {
    const k = keys(this.deps.keyPrefix);
    const out: (LiveCall | undefined)[] = [];
    for (let i = 0; i < sids.length; i += MGET_CHUNK) {
      const values = await this.deps.redis.mget(...sids.slice(i, i + MGET_CHUNK).map((sid) => k.liveCall(sid)));
      for (const v of values) {
        try {
          out.push(v === null ? undefined : (JSON.parse(v) as LiveCall));
        } catch {
          out.push(undefined);
        }
      }
    }
    return out;
  }
}
