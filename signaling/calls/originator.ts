/**
 * Calls originated through the API (`POST …/Calls`): the platform itself is
 * the calling party. The originator places the INVITE with an SDP offer that
 * rtpengine anchors (so later instructions can play media to the callee),
 * moves the call record through initiated → ringing → in-progress → a final
 * status, sends the status callbacks the call subscribed to, fetches the
 * call's instruction URL once answered, and obeys hangup / redirect commands.
 */
import type { Redis } from 'ioredis';
import { clientIdentityOf } from '../../regions/core/client-identity.js';
import { callMinutesCategory } from '../../regions/store/usage.js';
import type { Logger } from '../../regions/core/log.js';
import { MeshError, sipAnswer } from '../../regions/core/errors.js';
import type { DestinationPolicy } from '../../regions/net/destination-policy.js';
import { CallRecordStore } from '../../regions/store/call-records.js';
import type { CallEvent, CallRecord, CallStatus } from '../../regions/store/call-records.js';
import { listClientRegistrations, type ClientRegistration } from '../../regions/store/client-registrations.js';
import { keys } from '../../regions/store/keys.js';
import { apiDate, type AccountRecord } from '../../regions/store/schema.js';
import { newSid } from '../../regions/store/sids.js';
import type { B2bua } from '../b2bua/b2bua.js';
import type { MediaPort } from '../b2bua/media-port.js';
import type { RouteTable } from '../b2bua/routes.js';
import { sdpAudioEndpoint } from '../b2bua/sdp.js';
import type { DialOutcome, DialRequest, LegDialer, LegEndReason } from '../router/leg.js';
import type { HttpMethod } from '../router/twiml-types.js';
import { Dialog } from '../sip/dialog/index.js';
import { generateTag, getTag, parseCSeq, type Endpoint, type SipRequest, type SipResponse } from '../sip/message/index.js';
import { endpointKey } from '../sip/transport/index.js';
import type { ServerTransaction, SipStack } from '../sip/stack.js';
import { clientBranchTargets, offerWebrtc, type ClientBranchTarget } from './client-branches.js';
import type { LegMediaFactory, RouterLike } from './inbound-app.js';
import { cancelBranches, outboundInvite, resolveDestination, sendBye, sendByeOn, statusOfBranches, type OutboundBranch, type OutboundCall } from './outbound-leg.js';
import { answerInDialog, PlatformLeg } from './platform-leg.js';
import { callParams, StatusCallbacks, type WebhookStats } from './status-callback.js';
import type { CallRegistry } from './registry.js';

export interface OriginatorOptions {
  region: string;
  nodeId: string;
  keyPrefix: string;
  /** The node's one registry of calls: originated calls and Dial legs count there and are admitted by it. */
  calls: CallRegistry;
  /** Timeout of each webhook request. Default 5000 ms. */
  webhookTimeoutMs?: number;
  /** Where status callbacks may point (webhooks.*). Default: anywhere. */
  webhookPolicy?: DestinationPolicy;
  /** Ring time when the call did not set Timeout. Default 60 s. */
  defaultRingSeconds?: number;
  /** The platform side's SDP offered to rtpengine (media/leg `platformSdp`: G.711 + telephone-event, discard address). */
  platformSdp: () => string;
  /**
   * Signaling nodes of the other regions (`mesh.peers`): a client registered
   * there is rung through its region's node. Without it, only clients
   * connected to this node ring.
   */
  mesh?: { signalingUri(region: string): string | undefined };
}

/** What the originator needs to run applications on the calls it places. */
export interface OriginatorRuntime {
  router: RouterLike & { redirect(callSid: string, url: string, method: HttpMethod): boolean };
  legMedia: LegMediaFactory;
}

export class Originator implements LegDialer {
  private readonly calls = new Map<string, OutboundCall>();
  private runtime: OriginatorRuntime | undefined;
  private readonly records: CallRecordStore;
  private closed = false;
  private readonly callbacks: StatusCallbacks;

  constructor(
    private readonly stack: SipStack,
    private readonly b2bua: B2bua,
    private readonly media: MediaPort,
    private readonly routes: RouteTable,
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly opts: OriginatorOptions,
  ) {
    this.records = new CallRecordStore(redis, opts.keyPrefix);
    this.callbacks = new StatusCallbacks({
      timeoutMs: opts.webhookTimeoutMs ?? 5000,
      policy: opts.webhookPolicy,
      latency: b2bua.latency,
      onFailure: (rec, event, r) => log.info('status callback failed', { callSid: rec.sid, event, status: r.status, error: r.error }),
    });
    stack.onConnectionClosed((info) => this.connectionClosed(info.endpoint));
  }

  /**
   * A client's WebSocket connection closed (RFC 7118 §5: nothing reaches it any more): an
   * answered call over it ends as if the client had hung up (a Dial bridge ends and its
   * caller's application goes on, or hangs up); a ringing branch over it is over (480).
   */
  private connectionClosed(endpoint: Endpoint): void {
    const key = endpointKey(endpoint);
    for (const call of [...this.calls.values()]) {
      if (call.state === 'answered' && endpointKey(call.dest) === key) {
        this.log.info('client connection closed mid-call: ending the call', { callSid: call.rec.sid });
        void this.finalize(call, 'completed', undefined, 'remote-hangup');
      } else if (call.state === 'calling') {
        for (const b of call.branches) if (b.final === undefined && endpointKey(b.dest) === key) void this.branchOver(call, b, 480);
      }
    }
  }

  /** Webhook counters for metrics. */
  get webhookStats(): WebhookStats {
    return this.callbacks.stats;
  }

  /** The call router that runs answered calls' applications (set once, after construction: the router dials through us). */
  useRuntime(runtime: OriginatorRuntime): void {
    this.runtime = runtime;
  }

  /** Place the call of a `queued` record. Errors end the call as failed; nothing throws to the caller. */
  async originate(callSid: string): Promise<void> {
    if (this.closed || this.calls.has(callSid)) return;
    const rec = await this.records.get(callSid);
    if (rec === undefined || rec.status !== 'queued') return;
    const account = await this.loadAccount(rec.accountSid);
    if (account === undefined) {
      await this.records.update(callSid, { status: 'failed', endTime: apiDate() });
      return;
    }
    await this.place(rec, account, undefined);
  }

  /** `Dial`: place a child call of `req.parent`; resolves with the outcome (answered → its leg). */
  async dial(req: DialRequest): Promise<DialOutcome> {
    if (this.closed) return { status: 'failed' };
    const account = await this.loadAccount(req.parent.accountSid);
    if (account === undefined) return { status: 'failed' };
    const now = apiDate();
    const rec: CallRecord = {
      sid: newSid('CA'),
      accountSid: account.sid,
      parentCallSid: req.parent.callSid,
      direction: 'outbound-dial',
      from: req.from,
      to: req.to,
      status: 'queued',
      region: this.opts.region,
      nodeId: this.opts.nodeId,
      timeout: req.timeoutSeconds,
      dateCreated: now,
      dateUpdated: now,
    };
    await this.records.save(rec);
    if (req.signal.aborted) {
      await this.records.update(rec.sid, { status: 'canceled', endTime: apiDate() });
      return { status: 'canceled' };
    }
    return new Promise<DialOutcome>((resolve) => {
      let settled = false;
      const once = (o: DialOutcome): void => {
        if (settled) return;
        settled = true;
        resolve(o);
      };
      const onAbort = (): void => {
        const call = this.calls.get(rec.sid);
        if (call !== undefined && call.state === 'calling') this.cancel(call, 'canceled');
        once({ status: 'canceled' });
      };
      req.signal.addEventListener('abort', onAbort, { once: true });
      const dial = { resolve: once, offAbort: () => req.signal.removeEventListener('abort', onAbort), aborted: () => req.signal.aborted };
      void this.place(rec, account, dial, req.clientParameters).then((placed) => {
        if (!placed) {
          dial.offAbort();
          once({ status: 'failed' });
        }
      });
    });
  }

  /**
   * Place `rec`'s INVITE (one per registration for a client); false when it
   * never got as far as sending one (the record is final then, and a Dial
   * told its outcome).
   */
  private async place(
    rec: CallRecord,
    account: AccountRecord,
    dial: OutboundCall['dial'],
    clientParameters?: readonly { name: string; value: string }[],
  ): Promise<boolean> {
    const callSid = rec.sid;
    const early = (status: CallStatus, sipStatus: number): Promise<void> => this.finalize({ rec, account, sequence: 0, dial, branches: [] } as unknown as OutboundCall, status, sipStatus);
    const identity = clientIdentityOf(rec.to);
    let route: { dest: Endpoint; ruri: string } | undefined;
    if (identity === undefined) {
      try {
        route = resolveDestination(rec.to, this.routes);
      } catch (e) {
        this.log.info('originate: no route', { callSid, to: rec.to, error: e as Error });
        await early('failed', 404);
        return false;
      }
    }
    // A drained node places no new calls either (the operator moves traffic off it).
    if (this.opts.calls.isDraining) {
      this.log.warn('originate: node drained', { callSid });
      await early('failed', sipAnswer('NODE_DRAINING').status);
      return false;
    }
    // The node's capacity covers every kind of call: a full node places no more.
    if (!this.opts.calls.hasRoom()) {
      this.log.warn('originate: node at its call capacity', { callSid, maxCalls: this.opts.calls.limits.maxCalls });
      await early('failed', sipAnswer('CALL_CAPACITY').status);
      return false;
    }
    let registrations: ClientRegistration[] = [];
    if (identity !== undefined) {
      try {
        registrations = await listClientRegistrations(this.redis, this.opts.keyPrefix, account.sid, identity);
      } catch (e) {
        this.log.warn('originate: client registrations unreadable', { callSid, error: e as Error });
        await early('failed', 503);
        return false;
      }
      // No live registration: nobody to ring. The dialect reports an unreachable client as not answered.
      if (registrations.length === 0) {
        this.log.info('originate: client not registered', { callSid, to: rec.to });
        await early('no-answer', sipAnswer('CLIENT_NOT_REGISTERED').status);
        return false;
      }
    }
    let mediaNodeId: string;
    try {
      mediaNodeId = this.media.acquire(callSid).nodeId;
    } catch (e) {
      this.log.warn('originate: media unavailable', { callSid, error: e as Error });
      await early('failed', 503);
      return false;
    }
    let targets: Pick<ClientBranchTarget, 'dest' | 'ruri' | 'headers' | 'webrtc'>[];
    if (route !== undefined) targets = [{ ...route, headers: [], webrtc: false }];
    else {
      const found = clientBranchTargets(registrations, { region: this.opts.region, nodeId: this.opts.nodeId, signalingUri: (r) => this.opts.mesh?.signalingUri(r) }, { callSid, mediaNodeId, parameters: clientParameters });
      for (const x of found.skipped) this.log.warn('originate: client registration not rung', { callSid, region: x.region, why: x.why });
      targets = found.targets;
      if (targets.length === 0) {
        this.media.release(callSid);
        await early('no-answer', sipAnswer('CLIENT_NOT_REGISTERED').status);
        return false;
      }
    }
    // One offer goes to every branch: WebRTC (ICE, DTLS-SRTP: `receiver` here, `sender` on the
    // client's answer) only when every branch is a WebRTC client, else plain (offerWebrtc). A branch
    // through another region's node carries this SDP unchanged (clients/mesh-delivery.ts).
    const webrtc = offerWebrtc(targets);
    let offer: string;
    const platformTag = generateTag();
    try {
      offer = await this.media.offer(mediaNodeId, callSid, platformTag, this.opts.platformSdp(), undefined, webrtc ? 'receiver' : undefined);
    } catch (e) {
      this.media.release(callSid);
      this.media.delete(mediaNodeId, callSid).catch(() => {});
      this.log.warn('originate: media unavailable', { callSid, error: e as Error });
      await early('failed', 503);
      return false;
    }
    // The Dial gave up (another target answered, the caller left) while we looked up and offered: ring nobody.
    if (dial?.aborted() === true) {
      this.media.release(callSid);
      this.media.delete(mediaNodeId, callSid).catch(() => {});
      await early('canceled', 487);
      return false;
    }
    const branches: OutboundBranch[] = targets.map((t) => {
      const localTag = generateTag();
      const invite = outboundInvite({ ruri: t.ruri, from: rec.from, local: this.stack.localEndpoint(t.dest.transport), localTag, contact: this.b2bua.contact(t.dest.transport), offer, headers: t.headers });
      return { invite, dest: t.dest, localTag, tx: undefined, final: undefined };
    });
    const first = branches[0]!;
    const call: OutboundCall = {
      rec, account, branches, invite: first.invite, dest: first.dest, localTag: first.localTag, platformTag, mediaNodeId,
      tx: undefined, dialog: undefined, answeredAt: undefined, ringTimer: undefined,
      state: 'calling', sequence: 0, cancelRequested: false, leg: undefined, sdp: { party: '' }, dial, webrtc,
    };
    this.calls.set(callSid, call);
    this.opts.calls.add(callSid, 'originated');
    for (const b of branches) this.b2bua.attachDialog(b.invite.headers.get('Call-ID')!, b.localTag, (req, tx) => this.onInDialog(call, req, tx));
    call.rec = (await this.records.update(callSid, { status: 'initiated', nodeId: this.opts.nodeId })) ?? rec;
    void this.callback(call, 'initiated');
    const ringMs = (rec.timeout ?? this.opts.defaultRingSeconds ?? 60) * 1000;
    call.ringTimer = setTimeout(() => this.cancel(call, 'no-answer'), ringMs);
    call.invitedAt = Date.now();
    for (const b of branches) {
      if (call.state !== 'calling') break;
      b.tx = this.stack.sendRequest(b.invite, b.dest, {
        onProvisional: (res) => void this.onProvisional(call, res).catch((e: unknown) => this.onError(call, e)),
        onFinal: (res) => void this.onFinal(call, b, res).catch((e: unknown) => this.onError(call, e)),
        onTimeout: () => void this.branchOver(call, b, 408),
        onTransportError: () => void this.branchOver(call, b, 503),
      });
    }
    call.tx = first.tx;
    return true;
  }

  /** A branch ended without an answer; the call ends when its last branch has (our CANCEL finalized it already: no-op). */
  private async branchOver(call: OutboundCall, branch: OutboundBranch, status: number): Promise<void> {
    branch.final ??= status;
    // Still ringing elsewhere, or another branch answered (its media answer is under way).
    if (call.state !== 'calling' || call.branches.some((b) => b.final === undefined || b.final < 300)) return;
    const outcome = statusOfBranches(call.branches.map((b) => b.final!));
    await this.finalize(call, outcome.status, outcome.sipStatus);
  }

  /** API asked to hang up: CANCEL while ringing, BYE once answered. */
  async hangup(callSid: string): Promise<void> {
    const call = this.calls.get(callSid);
    if (call === undefined) {
      // Not placed yet (still queued): it simply never starts.
      const rec = await this.records.get(callSid);
      if (rec?.status === 'queued') await this.records.update(callSid, { status: 'canceled', endTime: apiDate() });
      return;
    }
    if (call.state === 'calling') this.cancel(call, 'canceled');
    else if (call.state === 'answered') {
      this.sendBye(call);
      await this.finalize(call, 'completed');
    }
  }

  /** The media node under some calls died: end them (ringing ones are cancelled). Returns how many. */
  async endCallsOnNode(nodeId: string): Promise<number> {
    const hit = [...this.calls.values()].filter((c) => c.mediaNodeId === nodeId);
    for (const c of hit) this.log.warn('originated call: media node died under the call; hanging up', { callSid: c.rec.sid, nodeId });
    await Promise.all(hit.map((c) => this.hangupCall(c)));
    return hit.length;
  }

  /** API changed the call's instructions: fetch the new document (the call router runs it). */
  async redirect(callSid: string, url: string, method: 'GET' | 'POST'): Promise<void> {
    const call = this.calls.get(callSid);
    if (call === undefined) return;
    call.rec = (await this.records.update(callSid, { url, method })) ?? call.rec;
    if (call.state === 'answered' && this.runtime?.router.redirect(callSid, url, method) !== true) this.runApplication(call);
  }

  private cancel(call: OutboundCall, status: 'canceled' | 'no-answer'): void {
    if (call.state !== 'calling') return;
    call.cancelRequested = true;
    cancelBranches(this.stack, call, undefined);
    void this.finalize(call, status, status === 'no-answer' ? 408 : 487);
  }

  private async onProvisional(call: OutboundCall, res: SipResponse): Promise<void> {
    if (call.state === 'calling' && (res.status === 180 || res.status === 183)) this.notePostDialDelay(call);
    if (call.state !== 'calling' || res.status === 100 || call.rec.status === 'ringing') return;
    // Set at once: two branches ringing together make one `ringing` event.
    call.rec = { ...call.rec, status: 'ringing' };
    call.rec = (await this.records.update(call.rec.sid, { status: 'ringing' })) ?? call.rec;
    void this.callback(call, 'ringing');
  }

  private async onFinal(call: OutboundCall, branch: OutboundBranch, res: SipResponse): Promise<void> {
    if (res.status >= 300) {
      await this.branchOver(call, branch, res.status);
      return;
    }
    const dialog = Dialog.fromUac(branch.invite, res);
    this.stack.sendAck(dialog.createAck(parseCSeq(res.headers.get('CSeq') ?? '1 INVITE').seq), branch.dest);
    const won = call.branches.find((b) => b.final !== undefined && b.final < 300);
    if (call.state !== 'calling' || won !== undefined) {
      // Answered after we gave up, or after another branch answered (CANCEL race): end it (RFC 3261 §15).
      sendByeOn(this.stack, dialog, branch.dest, () => this.log.info('originate: BYE to a late branch not answered', { callSid: call.rec.sid }));
      return;
    }
    // The first answer wins: this branch is the call's dialog from now on, the others are cancelled.
    branch.final = res.status;
    call.invite = branch.invite;
    call.dest = branch.dest;
    call.localTag = branch.localTag;
    call.tx = branch.tx;
    call.dialog = dialog;
    cancelBranches(this.stack, call, branch);
    clearTimeout(call.ringTimer);
    this.notePostDialDelay(call);
    const toTag = getTag(res.headers.get('To') ?? '') ?? '';
    call.sdp = { party: res.body.toString('utf8') };
    const partySdp = call.sdp.party;
    let platformEndpoint: { address: string; port: number } | undefined;
    try {
      platformEndpoint = sdpAudioEndpoint(await this.media.answer(call.mediaNodeId, call.rec.sid, call.platformTag, toTag, partySdp, call.webrtc ? 'sender' : undefined));
      if (platformEndpoint === undefined) throw new MeshError('NOT_ACCEPTABLE_HERE', 'answer has no audio stream');
    } catch (e) {
      this.log.warn('originate: media answer failed', { callSid: call.rec.sid, error: e as Error });
      this.sendBye(call);
      await this.finalize(call, 'failed', 503);
      return;
    }
    call.state = 'answered';
    call.answeredAt = Date.now();
    if (this.runtime !== undefined) {
      const legMedia = this.runtime.legMedia({
        nodeId: call.mediaNodeId,
        callId: call.rec.sid,
        partyTag: toTag,
        platformTag: call.platformTag,
        offerer: 'platform',
        partySdp: () => call.sdp.party,
        platformEndpoint,
        // Renegotiations (a Dial bridge, re-INVITEs) keep a browser's side WebRTC.
        ...(call.webrtc === true ? { partyIsBrowser: true } : {}),
      });
      call.leg = new PlatformLeg(call.rec.sid, call.rec.accountSid, call.rec.sid, {
        answer: async () => {},
        reject: () => this.hangupCall(call),
        hangup: () => this.hangupCall(call),
      }, legMedia, true);
    }
    call.rec = (await this.records.update(call.rec.sid, { status: 'in-progress', startTime: apiDate() })) ?? call.rec;
    void this.callback(call, 'answered');
    if (call.dial !== undefined) {
      call.dial.offAbort();
      if (call.leg !== undefined) call.dial.resolve({ status: 'answered', leg: call.leg });
      else {
        this.sendBye(call);
        await this.finalize(call, 'failed', 500);
      }
      return;
    }
    this.runApplication(call);
  }

  private async hangupCall(call: OutboundCall): Promise<void> {
    if (call.state === 'calling') this.cancel(call, 'canceled');
    else if (call.state === 'answered') {
      this.sendBye(call);
      await this.finalize(call, 'completed');
    }
  }

  /** Run the call's application (its Url) on its leg; the call is hung up when the application ends. */
  private runApplication(call: OutboundCall): void {
    const leg = call.leg;
    const router = this.runtime?.router;
    if (leg === undefined || router === undefined || call.rec.url === undefined) return;
    void router
      .run({
        leg,
        authToken: call.account.authToken,
        app: {
          url: call.rec.url,
          method: call.rec.method ?? 'POST',
          ...(call.rec.fallbackUrl !== undefined ? { fallbackUrl: call.rec.fallbackUrl, fallbackMethod: call.rec.fallbackMethod ?? 'POST' } : {}),
          timeoutMs: this.opts.webhookTimeoutMs ?? 5000,
        },
        params: callParams(call.rec),
        ...(call.rec.statusCallback !== undefined ? { statusCallback: { url: call.rec.statusCallback, method: call.rec.statusCallbackMethod ?? 'POST' } } : {}),
      })
      .catch((e: unknown) => this.log.error('call router failed', { callSid: call.rec.sid, error: e as Error }))
      .finally(() => {
        if (call.leg === leg && call.state === 'answered') void this.hangupCall(call);
      });
  }

  private onInDialog(call: OutboundCall, req: SipRequest, tx: ServerTransaction | null): void {
    answerInDialog(call, req, tx, {
      contact: this.b2bua.contact(call.dest.transport),
      log: this.log,
      onBye: () => void this.finalize(call, 'completed', undefined, 'remote-hangup'),
    });
  }

  private sendBye(call: OutboundCall): void {
    sendBye(this.stack, call, this.log);
  }

  /** The one place a call ends: record, usage, media, callback. Idempotent. */
  private async finalize(call: OutboundCall, status: CallStatus, sipResponseCode?: number, reason: LegEndReason = 'local-hangup'): Promise<void> {
    if (call.state === 'ended') return;
    call.state = 'ended';
    clearTimeout(call.ringTimer);
    call.leg?.markEnded(reason);
    if (call.dial !== undefined && call.answeredAt === undefined) {
      call.dial.offAbort();
      const outcome = status === 'busy' || status === 'no-answer' || status === 'canceled' ? status : 'failed';
      call.dial.resolve({ status: outcome, ...(sipResponseCode !== undefined ? { sipStatus: sipResponseCode } : {}) });
    }
    const sid = call.rec.sid;
    this.calls.delete(sid);
    this.opts.calls.remove(sid);
    for (const b of call.branches) this.b2bua.detachDialog(b.invite.headers.get('Call-ID')!, b.localTag);
    if (call.mediaNodeId !== undefined) {
      this.media.release(sid);
      this.media.delete(call.mediaNodeId, sid).catch(() => {});
    }
    // A call to `client:<identity>` counts as client minutes (calls-client), inside the `calls` total.
    const end = { accountSid: call.rec.accountSid, category: callMinutesCategory(call.rec, 'calls-outbound'), region: this.opts.region, answeredAt: call.answeredAt, endedAt: Date.now(), unansweredStatus: status, sipResponseCode, traceKey: sid, postDialDelayMs: call.postDialDelayMs } as const;
    call.rec = (await this.records.finish(sid, end, (e) => this.log.warn('usage write failed', { callSid: sid, error: e as Error }))) ?? call.rec;
    await this.callback(call, 'completed');
  }

  /** The first ringing or answer ends the post-dial delay (INVITE sent → 180/183/2xx); later ones do not move it. */
  private notePostDialDelay(call: OutboundCall): void {
    if (call.invitedAt !== undefined) call.postDialDelayMs ??= Date.now() - call.invitedAt;
  }

  /** Status callback for `event`, if the call subscribed to it (default: completed only). */
  private callback(call: OutboundCall, event: CallEvent): Promise<void> {
    return this.callbacks.send(call, call.account.authToken, event);
  }

  private async loadAccount(sid: string): Promise<AccountRecord | undefined> {
    const v = await this.redis.get(keys(this.opts.keyPrefix).account(sid));
    return v === null ? undefined : (JSON.parse(v) as AccountRecord);
  }

  private onError(call: OutboundCall, e: unknown): void {
    this.log.error('originated call failed', { callSid: call.rec.sid, error: e as Error });
    if (call.state === 'answered') this.sendBye(call);
    void this.finalize(call, 'failed', 500);
  }

  /** Hang up everything; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const call of [...this.calls.values()]) {
      if (call.state === 'calling') this.cancel(call, 'canceled');
      else if (call.state === 'answered') {
        this.sendBye(call);
        await this.finalize(call, 'completed');
      }
    }
  }
}
