/**
 * Re-anchoring: when the media node (rtpengine) carrying answered calls dies,
 * each call gets a new session on another healthy node of the region and
 * both parties are re-INVITEd onto it over their existing dialogs. Neither
 * party is asked for a new offer: the Call keeps the last SDP each one sent
 * (Call.sdp), which is replayed to the new node.
 *
 * The ng sequence on the new node N for a call with caller tag A and callee
 * tag B (ng `from-tag` is always the offerer's tag):
 *
 *   1. offer(N, from-tag=A, A's last SDP)            → SDP pointing at N, for B
 *   2. re-INVITE B with it; B answers 200 (its current SDP), we ACK
 *   3. answer(N, from-tag=A, to-tag=B, B's answer)   → N now knows both parties:
 *      B → N → A flows already (A's address comes from its replayed SDP)
 *   4. offer(N, from-tag=B, to-tag=A, B's last SDP)  → SDP pointing at N, for A
 *   5. re-INVITE A with it; A answers 200, we ACK
 *   6. answer(N, from-tag=B, to-tag=A, A's answer)   → N learns A's answer
 *      (its address may have changed); the SDP it returns is for B and is
 *      dropped: N keeps B's side on the ports B was given in step 2.
 *
 * B is moved first because only step 3 gives N a complete session; A is then
 * moved with a proper offer of its own rather than by reusing step 3's
 * answer as an offer. Every offer we send carries an o= session version above
 * the last SDP that party got from us (RFC 3264 §8), since N knows nothing
 * of the versions the dead node used.
 *
 * A call that cannot be moved (no healthy node, a party refusing the
 * re-INVITE, an ng failure) is ended with BYE on both legs rather than left
 * silent. A glare (491 to our re-INVITE) is retried after the random wait of
 * RFC 3261 §14.1.
 */
import type { Logger } from '../../regions/core/log.js';
import { parseCSeq, type SipResponse } from '../sip/message/index.js';
import type { SipStack } from '../sip/stack.js';
import type { B2buaCore, ReanchorOptions } from './core.js';
import type { Call, LegRole } from './call.js';
import type { MediaPort } from './media-port.js';
import { sdpBody, SDP_TYPE } from './sdp.js';
import { withSessionVersionAbove } from './sdp-version.js';

export type { ReanchorOptions } from './core.js';

export type ReanchorOutcome = 'moved' | 'ended' | 'skipped';

export interface ReanchorResult {
  sid: string;
  outcome: ReanchorOutcome;
  fromNodeId: string;
  toNodeId: string | undefined;
  /** Wall time of this call's re-anchor, ms. */
  ms: number;
  /** Why it was ended or skipped. */
  reason: string | undefined;
}

export interface ReanchorCounters {
  moved: number;
  ended: number;
  skipped: number;
}

/** Read through a function so the compiler does not keep a narrowing across awaits. */
function stateOf(call: Call): Call['state'] {
  return call.state;
}

/** A step of the re-anchor failed: the call is ended with this reason. */
class ReanchorAbort extends Error {}

export class Reanchorer {
  readonly counters: ReanchorCounters = { moved: 0, ended: 0, skipped: 0 };
  private readonly opts: Required<ReanchorOptions>;
  private closed = false;

  constructor(
    private readonly b2bua: B2buaCore,
    private readonly stack: SipStack,
    private readonly media: MediaPort,
    private readonly log: Logger,
    opts: ReanchorOptions = {},
  ) {
    this.opts = { reinviteTimeoutMs: 4000, maxGlareAttempts: 3, concurrency: 64, pendingWaitMs: 5000, confirmMs: 0, ...opts };
  }

  /** Stop starting new re-anchors (those in flight finish or fail). Idempotent. */
  close(): void {
    this.closed = true;
  }

  /** Re-anchor every answered call on `nodeId` (the registry just reported it unhealthy). */
  async onNodeDown(nodeId: string): Promise<ReanchorResult[]> {
    if (this.opts.confirmMs > 0) {
      await new Promise((r) => setTimeout(r, this.opts.confirmMs));
      if (this.media.isHealthy(nodeId)) {
        this.log.info('media node back before its calls were moved', { nodeId });
        return [];
      }
    }
    const calls = [...this.b2bua.calls.values()].filter((c) => c.mediaNodeId === nodeId && c.state === 'answered');
    if (calls.length === 0) return [];
    this.log.warn('media node down: re-anchoring its calls', { nodeId, calls: calls.length });
    const results: ReanchorResult[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < calls.length) {
        const call = calls[next++] as Call;
        results.push(await this.reanchor(call));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, calls.length) }, worker));
    return results;
  }

  /** Move one answered call off its media node; never throws. */
  async reanchor(call: Call): Promise<ReanchorResult> {
    const started = Date.now();
    const fromNodeId = call.mediaNodeId;
    const result = (outcome: ReanchorOutcome, toNodeId: string | undefined, reason?: string): ReanchorResult => {
      this.counters[outcome]++;
      return { sid: call.sid, outcome, fromNodeId, toNodeId, ms: Date.now() - started, reason };
    };
    if (this.closed) return result('skipped', undefined, 'closed');
    if (call.state !== 'answered') return result('skipped', undefined, `state ${call.state}`);
    if (call.reanchoring) return result('skipped', undefined, 'already re-anchoring');
    call.reanchoring = true;
    let toNodeId: string | undefined;
    try {
      await this.waitForPendingReinvite(call);
      try {
        toNodeId = this.media.reacquire(call.a.callId, fromNodeId).nodeId;
      } catch (e) {
        throw new ReanchorAbort(`no healthy media node: ${(e as Error).message}`);
      }
      await this.move(call, toNodeId);
      this.log.info('call re-anchored', { sid: call.sid, from: fromNodeId, to: toNodeId, ms: Date.now() - started });
      return result('moved', toNodeId);
    } catch (e) {
      const reason = e instanceof ReanchorAbort ? e.message : `internal error: ${(e as Error).message}`;
      if (stateOf(call) === 'ended') {
        // The call ended (a BYE) while we moved it: only our half-built session is left to clean up.
        if (toNodeId !== undefined && call.mediaNodeId !== toNodeId) this.deleteQuietly(toNodeId, call);
        return result('skipped', toNodeId, 'ended meanwhile');
      }
      this.log.warn('re-anchor failed; ending the call', { sid: call.sid, from: fromNodeId, to: toNodeId, reason });
      if (toNodeId !== undefined && call.mediaNodeId !== toNodeId) this.deleteQuietly(toNodeId, call);
      this.b2bua.dialogs.hangup(call, 'reanchor-failed', ['a', 'b']);
      return result('ended', toNodeId, reason);
    } finally {
      call.reanchoring = false;
    }
  }

  /** Steps 1–6 of the header comment. Throws ReanchorAbort on any failure. */
  private async move(call: Call, node: string): Promise<void> {
    const callId = call.a.callId;
    const aTag = call.a.remoteTag;
    const bTag = call.b.remoteTag;
    const fromA = call.sdp.fromA;
    if (bTag === undefined || fromA === undefined || call.sdp.fromB === undefined) {
      throw new ReanchorAbort('call has no complete SDP exchange to replay');
    }
    // 1–3: the callee.
    const offerForB = withSessionVersionAbove(await this.ng(call, () => this.media.offer(node, callId, aTag, fromA)), call.sdp.toB);
    const bAnswer = await this.reinvite(call, 'b', offerForB);
    call.sdp.toB = offerForB;
    if (bAnswer !== undefined) call.sdp.fromB = bAnswer;
    const fromB = bAnswer ?? call.sdp.fromB;
    await this.ng(call, () => this.media.answer(node, callId, aTag, bTag, fromB));
    // From here the new node carries the call: a BYE now deletes the session there.
    call.mediaNodeId = node;
    this.b2bua.persist(call);
    // 4–6: the caller.
    const offerForA = withSessionVersionAbove(await this.ng(call, () => this.media.offer(node, callId, bTag, fromB, aTag)), call.sdp.toA);
    const aAnswer = await this.reinvite(call, 'a', offerForA);
    call.sdp.toA = offerForA;
    if (aAnswer !== undefined) call.sdp.fromA = aAnswer;
    const newFromA = aAnswer ?? fromA;
    await this.ng(call, () => this.media.answer(node, callId, bTag, aTag, newFromA));
    this.b2bua.persist(call);
  }

  /**
   * An ng step; a failure, or the call ending meanwhile, aborts the re-anchor.
   * Without the second check a BYE that arrived during the step was followed
   * by our own writes: the call's record saved again over the one its BYE
   * wrote (end reason lost), and the session on the new node never deleted.
   */
  private async ng<T>(call: Call, step: () => Promise<T>): Promise<T> {
    let v: T;
    try {
      v = await step();
    } catch (e) {
      throw new ReanchorAbort(`ng failed on the new node: ${(e as Error).message}`);
    }
    this.assertLive(call);
    return v;
  }

  /**
   * re-INVITE one leg with `sdp` and resolve with the SDP of its 2xx (undefined
   * if the 2xx had none). We ACK the 2xx ourselves (RFC 3261 §13.2.2.4).
   */
  private async reinvite(call: Call, role: LegRole, sdp: string): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      this.assertLive(call);
      const res = await this.sendReinvite(call, role, sdp);
      this.assertLive(call);
      if (res.status >= 200 && res.status < 300) return res.body.length > 0 ? res.body.toString('utf8') : undefined;
      if (res.status === 491 && attempt < this.opts.maxGlareAttempts) {
        // RFC 3261 §14.1: the owner of the Call-ID (we are, on the B leg) waits 2.1–4 s, the other side 0–2 s.
        const wait = role === 'b' ? 2100 + Math.random() * 1900 : Math.random() * 2000;
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      throw new ReanchorAbort(`${role.toUpperCase()} leg answered the re-INVITE with ${res.status}`);
    }
  }

  private sendReinvite(call: Call, role: LegRole, sdp: string): Promise<SipResponse> {
    const dialogs = this.b2bua.dialogs;
    const dialog = dialogs.dialogOf(call, role);
    if (dialog === undefined) return Promise.reject(new ReanchorAbort(`${role.toUpperCase()} leg has no dialog`));
    const dest = dialogs.destOf(call, role);
    const req = dialog.createRequest('INVITE', {
      headers: [['Contact', this.b2bua.contact(dest.transport)]],
      body: sdpBody(sdp),
      contentType: SDP_TYPE,
    });
    return new Promise<SipResponse>((resolve, reject) => {
      let done = false;
      const finish = (f: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        f();
      };
      const timer = setTimeout(
        () => finish(() => reject(new ReanchorAbort(`${role.toUpperCase()} leg did not answer the re-INVITE within ${this.opts.reinviteTimeoutMs} ms`))),
        this.opts.reinviteTimeoutMs,
      );
      try {
        this.stack.sendRequest(req, dest, {
          onFinal: (res) => {
            if (res.status >= 200 && res.status < 300) {
              // Target refresh (RFC 3261 §12.2.1.2) before the ACK, so the ACK follows the new Contact.
              try {
                dialog.updateFromResponse(res);
              } catch (e) {
                this.log.warn('re-anchor 2xx did not fit the dialog', { sid: call.sid, error: e as Error });
              }
              // Sent even when the 2xx comes after our timeout: an un-ACKed 2xx would be retransmitted for 64*T1.
              dialogs.sendAck(call, role, parseCSeq(res.headers.get('CSeq') ?? '1 INVITE').seq);
            }
            finish(() => resolve(res));
          },
          onTimeout: () => finish(() => reject(new ReanchorAbort(`${role.toUpperCase()} leg re-INVITE timed out`))),
          onTransportError: (e) => finish(() => reject(new ReanchorAbort(`${role.toUpperCase()} leg unreachable: ${e.message}`))),
        });
      } catch (e) {
        finish(() => reject(new ReanchorAbort(`cannot send re-INVITE: ${(e as Error).message}`)));
      }
    });
  }

  private assertLive(call: Call): void {
    if (call.state !== 'answered') throw new ReanchorAbort(`call is ${call.state}`);
  }

  /** A relayed re-INVITE (hold / resume) in flight: let it finish first, bounded. */
  private async waitForPendingReinvite(call: Call): Promise<void> {
    const until = Date.now() + this.opts.pendingWaitMs;
    while (call.reinvite !== undefined) {
      if (Date.now() > until) throw new ReanchorAbort('a relayed re-INVITE did not finish');
      await new Promise((r) => setTimeout(r, 50));
    }
    this.assertLive(call);
  }

  private deleteQuietly(nodeId: string, call: Call): void {
    this.media.delete(nodeId, call.a.callId).catch((e: unknown) => {
      this.log.debug('media delete after a failed re-anchor failed', { sid: call.sid, nodeId, error: e as Error });
    });
  }
}
