/**
 * Inbound calls to a number with an application: the platform itself is the
 * callee. The caller's media is anchored on rtpengine with the platform as
 * the other party (its side points at the discard address until a verb plays
 * into it or bridges it), the call router runs the application, and this
 * class owns the SIP dialog: 200 OK when the router answers, 486/603 when it
 * rejects, BYE when it hangs up, and the caller's BYE or CANCEL at any time.
 * The call record, `calls-inbound` usage and the `completed` status callback
 * are written when the call ends.
 */
import type { Redis } from 'ioredis';
import { isMeshError, sipAnswer, type ErrorCode } from '../../regions/core/errors.js';
import type { Logger } from '../../regions/core/log.js';
import { asCallSid } from '../../regions/core/ids.js';
import type { DestinationPolicy } from '../../regions/net/destination-policy.js';
import { aliasPlacementTrace } from '../../regions/store/placement-traces.js';
import { CallRecordStore } from '../../regions/store/call-records.js';
import type { CallRecord, CallStatus } from '../../regions/store/call-records.js';
import { apiDate } from '../../regions/store/schema.js';
import { newSid } from '../../regions/store/sids.js';
import type { B2bua } from '../b2bua/b2bua.js';
import type { MediaNeed, MediaPort } from '../b2bua/media-port.js';
import { DEFAULT_OFFER_BUDGET_MS, offerWithRetry } from '../b2bua/offer-retry.js';
import { sdpAudioEndpoint, sdpBody, SDP_TYPE } from '../b2bua/sdp.js';
import { sdpIsWebrtc } from '../../regions/core/sdp.js';
import type { ClientCaller } from '../clients/client-calls.js';
import { Dialog } from '../sip/dialog/index.js';
import { createResponse, generateTag, getTag, parseNameAddr, parseUri, type Endpoint, type SipRequest } from '../sip/message/index.js';
import { endpointKey } from '../sip/transport/index.js';
import type { ServerTransaction, SipStack } from '../sip/stack.js';
import type { LegEndReason } from '../router/leg.js';
import type { RouterCall } from '../router/runner.js';
import type { AppBinding } from './app-resolver.js';
import { sendStatusCallback } from './status-callback.js';
import { answerInDialog, PlatformLeg, type LegMediaOps } from './platform-leg.js';

/** What the media side needs to build a leg's media operations. */
export interface LegMediaRequest {
  nodeId: string;
  callId: string;
  partyTag: string;
  platformTag: string;
  offerer: 'party' | 'platform';
  partySdp: () => string;
  platformEndpoint: { address: string; port: number };
  /** The party is a browser (WebRTC): renegotiations keep its side WebRTC. */
  partyIsBrowser?: boolean;
}

export type LegMediaFactory = (r: LegMediaRequest) => LegMediaOps;

export interface RouterLike {
  run(call: RouterCall): Promise<unknown>;
}
import type { CallRegistry } from './registry.js';

export interface InboundAppOptions {
  region: string;
  nodeId: string;
  keyPrefix: string;
  /** The node's one registry of calls: application calls count there. */
  calls: CallRegistry;
  /** The platform side's SDP handed to rtpengine (discard address). */
  platformSdp: () => string;
  webhookTimeoutMs?: number;
  /** Where status callbacks may point (webhooks.*). Default: anywhere. */
  webhookPolicy?: DestinationPolicy;
  /** Time the first media offer may take over every node tried (media.offerBudgetMs). Default DEFAULT_OFFER_BUDGET_MS. */
  mediaOfferBudgetMs?: number;
}

interface InboundCall {
  rec: CallRecord;
  binding: AppBinding;
  leg: PlatformLeg;
  invite: SipRequest;
  tx: ServerTransaction;
  source: Endpoint;
  callId: string;
  partyTag: string;
  localTag: string;
  nodeId: string;
  /** The calling browser/app client, when it is one. */
  client: ClientCaller | undefined;
  /** The caller's current SDP and the one we answered it with. */
  sdp: { party: string; toParty: string };
  dialog: Dialog | undefined;
  /** performance.now() when the INVITE was taken (INVITE→200 histogram). */
  receivedAt: number;
  answeredAt: number | undefined;
  /** When the INVITE arrived: the post-dial delay runs from here to the answer. */
  invitedAt: number;
  state: 'offered' | 'answered' | 'ended';
}

export class InboundAppCalls {
  private readonly calls = new Map<string, InboundCall>();
  private readonly records: CallRecordStore;

  constructor(
    private readonly stack: SipStack,
    private readonly b2bua: B2bua,
    private readonly media: MediaPort,
    private readonly legMedia: LegMediaFactory,
    private readonly router: RouterLike,
    private readonly redis: Redis,
    private readonly log: Logger,
    private readonly opts: InboundAppOptions,
  ) {
    this.records = new CallRecordStore(redis, opts.keyPrefix);
    stack.onConnectionClosed((info) => this.connectionClosed(info.endpoint));
  }

  /**
   * A client's WebSocket connection closed under its call (RFC 7118 §5: nothing reaches it
   * any more): the call ends as if the client had hung up, so its application stops and the
   * record, usage and callback are written as for a BYE.
   */
  private connectionClosed(endpoint: Endpoint): void {
    const key = endpointKey(endpoint);
    for (const call of [...this.calls.values()]) {
      if (call.client === undefined || endpointKey(call.source) !== key) continue;
      this.log.info('client connection closed mid-call: ending the call', { sid: call.rec.sid });
      void this.end(call, 'remote-hangup', call.answeredAt === undefined ? 'canceled' : 'completed');
    }
  }

  /**
   * Take an INVITE for an application number. Responds to the caller itself on every path.
   * `need` says where the caller's media is when an edge forwarded the call without anchoring
   * it (DESIGN step 6): the leg is then placed on a node with `need.capability` in that region,
   * else the nearest region with one, so the caller's RTP meets one rtpengine only.
   *
   * `client`: a browser or app client's call (clients/client-calls.ts): the binding is its
   * token's application, `From` is `client:<identity>`, its parameters go to the application,
   * and a WebRTC offer gets WebRTC back (ICE, DTLS-SRTP) while the platform side stays plain
   * RTP, transcoded to PCMU when the browser offers none.
   */
  async accept(req: SipRequest, tx: ServerTransaction, source: Endpoint, dialed: string, binding: AppBinding, need?: MediaNeed, client?: ClientCaller): Promise<void> {
    const receivedAt = performance.now();
    const invitedAt = Date.now();
    const callId = req.headers.get('Call-ID')!;
    const partyTag = getTag(req.headers.get('From') ?? '') ?? '';
    const platformTag = generateTag();
    const localTag = generateTag();
    // Refusals are catalogue entries (regions/core/errors.ts), as the B2BUA's.
    const reject = (code: ErrorCode, headers: [string, string][] = []): void => {
      const { status, reason } = sipAnswer(code);
      this.b2bua.countFailure(status);
      tx.respond(createResponse(req, status, reason, { toTag: localTag, headers }));
    };
    const partySdp = req.body.toString('utf8');
    // The offer says what the caller speaks (RFC 3264 §6: the answer keeps its transport).
    const browser = client !== undefined && sdpIsWebrtc(partySdp);
    let nodeId: string;
    let platformEndpoint: { address: string; port: number } | undefined;
    let toPartySdp: string;
    try {
      // A node that fails the offer (dead, breaker open, out of ports) hands it to the next one.
      const placed = await offerWithRetry(this.media, callId, partyTag, partySdp, {
        budgetMs: this.opts.mediaOfferBudgetMs ?? DEFAULT_OFFER_BUDGET_MS,
        isCancelled: () => tx.isCancelled,
        ...(need === undefined ? {} : { need }),
        ...(browser ? { webrtc: 'sender' as const } : {}),
        onAttemptFailed: (failed, error) => this.log.warn('inbound app: media offer failed; trying another node', { callId, nodeId: failed, error: error as Error }),
      });
      nodeId = placed.nodeId;
      platformEndpoint = sdpAudioEndpoint(placed.sdp);
    } catch (e) {
      if (!isMeshError(e, 'NO_MEDIA_NODE') && !isMeshError(e, 'MEDIA_UNAVAILABLE')) throw e;
      // The placement's reasons go back to the caller (RFC 3261 §20.43 Warning); the trace keeps them too.
      this.log.info('inbound app: no media', { callId, mediaRegion: need?.mediaRegion, error: e });
      return reject(e.code, [['Retry-After', String(e.retryAfter ?? 5)], ['Warning', sipWarning(this.opts.nodeId, e.message)]]);
    }
    try {
      toPartySdp = await this.media.answer(nodeId, callId, partyTag, platformTag, this.opts.platformSdp(), browser ? 'receiver' : undefined);
    } catch (e) {
      this.media.release(callId);
      void this.media.delete(nodeId, callId).catch(() => {});
      this.log.warn('inbound app: media unavailable', { callId, nodeId, error: e as Error });
      return reject('MEDIA_UNAVAILABLE', [['Retry-After', '5']]);
    }
    if (platformEndpoint === undefined) {
      this.media.release(callId);
      void this.media.delete(nodeId, callId).catch(() => {});
      return reject('NO_AUDIO_OFFERED');
    }
    if (tx.isCancelled) {
      this.media.release(callId);
      void this.media.delete(nodeId, callId).catch(() => {});
      return;
    }
    const sid = asCallSid(newSid('CA'));
    let from = 'anonymous';
    if (client !== undefined) {
      from = `client:${client.identity}`;
    } else {
      try {
        from = parseUri(parseNameAddr(req.headers.get('From')!).uri).user ?? 'anonymous';
      } catch {
        // keep anonymous
      }
    }
    const now = apiDate();
    const rec: CallRecord = {
      sid,
      accountSid: binding.accountSid,
      direction: 'inbound',
      from,
      to: dialed,
      status: 'ringing',
      region: this.opts.region,
      nodeId: this.opts.nodeId,
      ...(binding.applicationSid !== undefined ? { applicationSid: binding.applicationSid } : {}),
      url: binding.app.url,
      method: binding.app.method,
      ...(binding.tags.length > 0 ? { tags: binding.tags } : {}),
      dateCreated: now,
      dateUpdated: now,
    };
    let call!: InboundCall;
    const legMedia = this.legMedia({
      nodeId,
      callId,
      partyTag,
      platformTag,
      offerer: 'party',
      partySdp: () => call.sdp.party,
      platformEndpoint,
      ...(browser ? { partyIsBrowser: true } : {}),
    });
    const leg = new PlatformLeg(sid, binding.accountSid, callId, {
      answer: () => this.answer(call),
      reject: (reason) => this.reject(call, reason),
      hangup: () => this.hangup(call),
    }, legMedia, false);
    call = { rec, binding, client, leg, invite: req, tx, source, callId, partyTag, localTag, nodeId, sdp: { party: partySdp, toParty: toPartySdp }, dialog: undefined, receivedAt, answeredAt: undefined, invitedAt, state: 'offered' };
    this.calls.set(sid, call);
    this.opts.calls.add(sid, 'inbound-app');
    this.b2bua.attachDialog(callId, localTag, (r, t) => this.onInDialog(call, r, t));
    tx.onCancel(() => void this.end(call, 'remote-hangup', 'canceled'));
    await this.records.save(rec).catch((e: unknown) => this.log.warn('inbound app: call record not saved', { sid, error: e as Error }));
    // The media placement was traced under the SIP Call-ID (the CallSid did not exist yet): let the CallSid find it.
    void aliasPlacementTrace(this.redis, this.opts.keyPrefix, sid, callId).catch((e: unknown) => this.log.debug('placement trace alias not stored', { sid, error: e as Error }));
    const routerCall: RouterCall = {
      leg,
      authToken: binding.authToken,
      app: binding.app,
      params: {
        // The client's parameters first: the platform's own names below always win.
        ...(client?.params ?? {}),
        CallSid: sid,
        AccountSid: binding.accountSid,
        From: from,
        To: dialed,
        Caller: from,
        Called: dialed,
        CallStatus: 'ringing',
        Direction: 'inbound',
        ApiVersion: '2010-04-01',
      },
      ...(binding.statusCallback !== undefined ? { statusCallback: binding.statusCallback } : {}),
    };
    void this.router
      .run(routerCall)
      .catch((e: unknown) => this.log.error('call router failed', { sid, error: e as Error }))
      .finally(() => {
        // The router returns when the call is over or it has nothing left to do: make sure the call ends.
        if (call.state !== 'ended') void this.hangup(call);
      });
  }

  private async answer(call: InboundCall): Promise<void> {
    if (call.state !== 'offered') return;
    call.state = 'answered';
    call.answeredAt = Date.now();
    const contact = this.b2bua.contact(call.source.transport);
    call.dialog = Dialog.fromUas(call.invite, call.localTag, { state: 'confirmed', localContact: contact });
    call.tx.onAckTimeout(() => {
      // RFC 3261 §13.3.1.4: no ACK for our 2xx → end the dialog with BYE.
      if (call.state === 'answered') void this.hangup(call);
    });
    call.tx.respond(createResponse(call.invite, 200, 'OK', { toTag: call.localTag, headers: [['Contact', contact]], body: sdpBody(call.sdp.toParty), contentType: SDP_TYPE }));
    call.leg.markAnswered();
    this.b2bua.counters.answered++;
    this.b2bua.latency.observeInviteAnswer(performance.now() - call.receivedAt);
    call.rec = (await this.records.update(call.rec.sid, { status: 'in-progress', startTime: apiDate() }).catch(() => undefined)) ?? call.rec;
  }

  private async reject(call: InboundCall, reason: 'busy' | 'rejected'): Promise<void> {
    if (call.state !== 'offered') return this.hangup(call);
    const { status, reason: phrase } = sipAnswer(reason === 'busy' ? 'BUSY_HERE' : 'DECLINED');
    this.b2bua.countFailure(status);
    call.tx.respond(createResponse(call.invite, status, phrase, { toTag: call.localTag }));
    await this.end(call, 'rejected', reason === 'busy' ? 'busy' : 'failed');
  }

  private async hangup(call: InboundCall): Promise<void> {
    if (call.state === 'ended') return;
    if (call.state === 'offered') {
      // The application ended without answering (e.g. <Hangup/> first): decline the call.
      const declined = sipAnswer('DECLINED');
      call.tx.respond(createResponse(call.invite, declined.status, declined.reason, { toTag: call.localTag }));
      await this.end(call, 'local-hangup', 'failed');
      return;
    }
    if (call.dialog !== undefined) {
      this.stack.sendRequest(call.dialog.createRequest('BYE'), call.source, {
        onFinal: () => {},
        onTimeout: () => this.log.info('inbound app: BYE not answered', { sid: call.rec.sid }),
        onTransportError: () => {},
      });
    }
    await this.end(call, 'local-hangup', 'completed');
  }

  private onInDialog(call: InboundCall, req: SipRequest, tx: ServerTransaction | null): void {
    answerInDialog(call, req, tx, {
      contact: this.b2bua.contact(call.source.transport),
      log: this.log,
      onBye: () => void this.end(call, 'remote-hangup', 'completed'),
      // RFC 3261 §8.2.1: a method we do not handle gets 405 with what we allow.
      unsupported: (r) => createResponse(r, 405, 'Method Not Allowed', { headers: [['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO']] }),
    });
  }

  /** The one place a call ends: media, record, usage, callback. Idempotent. */
  private async end(call: InboundCall, reason: LegEndReason, status: CallStatus): Promise<void> {
    if (call.state === 'ended') return;
    const wasAnswered = call.answeredAt !== undefined;
    call.state = 'ended';
    this.calls.delete(call.rec.sid);
    this.opts.calls.remove(call.rec.sid);
    this.b2bua.detachDialog(call.callId, call.localTag);
    call.leg.markEnded(reason);
    this.media.release(call.callId);
    void this.media.delete(call.nodeId, call.callId).catch(() => {});
    const endedAt = Date.now();
    if (wasAnswered) this.b2bua.counters.completed++;
    // A client's outgoing call counts as client minutes (calls-client), inside the `calls` total.
    const end = { accountSid: call.rec.accountSid, category: call.client !== undefined ? 'calls-client' : 'calls-inbound', region: this.opts.region, answeredAt: call.answeredAt, endedAt, unansweredStatus: status, traceKey: call.callId, postDialDelayMs: wasAnswered ? call.answeredAt! - call.invitedAt : undefined } as const;
    const onUsageError = (e: unknown): void => this.log.warn('usage write failed', { sid: call.rec.sid, error: e as Error });
    const duration = wasAnswered ? Math.round((endedAt - call.answeredAt!) / 1000) : 0;
    call.rec = (await this.records.finish(call.rec.sid, end, onUsageError).catch(() => undefined)) ?? { ...call.rec, status: wasAnswered ? 'completed' : status, duration };
    if (call.binding.statusCallback !== undefined) {
      await sendStatusCallback({
        target: call.binding.statusCallback,
        rec: call.rec,
        event: 'completed',
        sequence: 0,
        authToken: call.binding.authToken,
        timeoutMs: this.opts.webhookTimeoutMs ?? 5000,
        policy: this.opts.webhookPolicy,
      })
        .then((r) => this.b2bua.latency.observeWebhook('status-callback', r.ok, r.ms))
        .catch(() => undefined);
    }
  }

  /** The media node holding a live call's session. */
  mediaNodeOf(callSid: string): string | undefined {
    return this.calls.get(callSid)?.nodeId;
  }

  /** Where the caller is told to send RTP (the 200 OK's audio address), for diagnostics and tests. */
  mediaTarget(callSid: string): { address: string; port: number } | undefined {
    const call = this.calls.get(callSid);
    return call === undefined ? undefined : sdpAudioEndpoint(call.sdp.toParty);
  }

  /**
   * The media node under some calls died: their media is gone, so they are
   * hung up at once rather than left silent (application calls are not
   * re-anchored, unlike bridged B2BUA calls). Returns how many.
   */
  async endCallsOnNode(nodeId: string): Promise<number> {
    const hit = [...this.calls.values()].filter((c) => c.nodeId === nodeId);
    for (const c of hit) this.log.warn('inbound app: media node died under the call; hanging up', { sid: c.rec.sid, nodeId });
    await Promise.all(hit.map((c) => this.hangup(c)));
    return hit.length;
  }

  /** API hangup of a call this node runs; false when it is not one of ours. */
  async hangupCall(callSid: string): Promise<boolean> {
    const call = this.calls.get(callSid);
    if (call === undefined) return false;
    await this.hangup(call);
    return true;
  }

  /** Hang up every call; idempotent. */
  async close(): Promise<void> {
    await Promise.all([...this.calls.values()].map((c) => this.hangup(c)));
  }
}

/** A `Warning: 399` header value (RFC 3261 §20.43): printable ASCII, quotes and backslashes dropped, at most 200 characters. */
export function sipWarning(agent: string, text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, ' ').replace(/["\\]/g, '').slice(0, 200);
  return `399 ${agent.replace(/[^A-Za-z0-9.\-_]/g, '') || 'mesh'} "${clean}"`;
}
