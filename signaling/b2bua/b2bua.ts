/**
 * The B2BUA that anchors calls: every inbound INVITE becomes two dialogs (A:
 * carrier → us, B: us → destination) with the media of both anchored on one
 * rtpengine session. Requests are dispatched here, and calls are
 * registered and ended here; setting up a new call (INVITE → B leg → answer)
 * lives in `new-call.ts`, in-dialog work (BYE, re-INVITE, INFO) in `in-dialog.ts`.
 */
import { NodeLatencyMetrics } from '../../regions/core/metrics.js';
import { MeshError, sipAnswer, type ErrorCode } from '../../regions/core/errors.js';
import type { Logger } from '../../regions/core/log.js';
import type { CarrierRecord } from '../../regions/store/schema.js';
import { createResponse, getTag, type Endpoint, type SipRequest, type SipTransportName } from '../sip/message/index.js';
import type { ServerTransaction, SipStack } from '../sip/stack.js';
import { ENDED_LEG, type Call, type Leg, type LegMatch, type LegRole } from './call.js';
import { otherLeg, safeRespond, type B2buaCore, type B2buaCounters, type B2buaOptions } from './core.js';
import { CarrierAdmission } from './carrier-admission.js';
import type { CallStore, StoredCall } from './call-store.js';
import { ByeRetries } from './bye-retry.js';
import { InDialogHandler } from './in-dialog.js';
import { withPassthrough } from './mesh.js';
import type { MediaPort } from './media-port.js';
import { NewCallHandler } from './new-call.js';
import { Reanchorer } from './reanchor.js';
import type { RouteTable } from './routes.js';
import { ExpiringMap } from '../sip/expiring-map.js';
import { SDP_TYPE } from './sdp.js';

export type { AnsweredCall, B2buaCounters, B2buaOptions, EndedCall, InboundApps } from './core.js';

/** Methods we accept; sent in Allow with 405 (RFC 3261 §20.5). */
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO';

/** Most in-dialog requests held while a takeover loads its calls (holdUnknownDialogs); beyond it they get 481 as usual. */
const MAX_HELD_REQUESTS = 10_000;

interface HeldRequest {
  req: SipRequest;
  tx: ServerTransaction;
  source: Endpoint;
}

/** How long an ended call's legs still match in-dialog requests (64*T1 with the default T1). */
const ENDED_LEG_KEEP_MS = 32_000;

export class B2bua implements B2buaCore {
  readonly counters: B2buaCounters = { attempts: 0, answered: 0, completed: 0, failures: {} };
  /** The node's latency histograms (INVITE→200 here; webhooks by the call router and originator), published with its metrics. */
  readonly latency = new NodeLatencyMetrics();
  /** Live calls by CallSid. */
  readonly calls = new Map<string, Call>();
  /** Leg lookup: `${callId}\n${ourTag}` → call + leg. */
  private readonly legs = new Map<string, LegMatch>();
  /**
   * Legs of ended calls, kept 32 s (64*T1) so retransmitted BYEs and 2xx still match and get
   * answered, not 481; one sweep timer for all of them (expiring-map.ts). An answered call's
   * legs keep only ENDED_LEG; an unanswered one's keep the call, to ACK and BYE a late 2xx.
   */
  private readonly endedLegs = new ExpiringMap<string, LegMatch | typeof ENDED_LEG>(ENDED_LEG_KEEP_MS);
  private readonly inDialog: InDialogHandler;
  /** BYEs that got no answer, sent again for a while (bye-retry.ts); its counters are the node's. */
  readonly byeRetries: ByeRetries;
  private readonly newCalls: NewCallHandler;
  /** Moves answered calls off a media node that died (reanchor.ts). */
  readonly reanchorer: Reanchorer;
  /** Carrier admission for new INVITEs; replaced whenever the region's carriers are reloaded. */
  private admission = new CarrierAdmission([]);
  /** In-dialog handlers of calls this B2BUA does not anchor itself (API-originated calls). */
  private readonly external = new Map<string, (req: SipRequest, tx: ServerTransaction | null) => void>();
  private closed = false;
  /** In-dialog requests for dialogs not known yet, kept while a takeover loads its calls (holdUnknownDialogs). */
  private held: HeldRequest[] | undefined;

  /** The media port, with calls anchored at another region's edge passed through untouched. */
  private readonly media: MediaPort;

  constructor(
    readonly stack: SipStack,
    media: MediaPort,
    routes: RouteTable,
    private readonly store: CallStore | undefined,
    private readonly log: Logger,
    private readonly opts: B2buaOptions,
  ) {
    this.media = withPassthrough(media);
    this.byeRetries = new ByeRetries(opts.byeRetry);
    this.inDialog = new InDialogHandler(this, stack, this.media, log, this.byeRetries);
    this.newCalls = new NewCallHandler(this, stack, this.media, routes, log, opts);
    this.reanchorer = new Reanchorer(this, stack, this.media, log, opts.reanchor);
    stack.onRequest((req, tx, source) => this.dispatch(req, tx, source));
    stack.setInviteGate(() => this.newCalls.refuseEarly());
    stack.onStray2xx((res) => this.inDialog.onStray2xx(res));
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  /** Our Contact on the transport a leg uses. */
  contact(transport: SipTransportName): string {
    const ep = this.stack.localEndpoint(transport);
    return `<sip:${ep.address}:${ep.port};transport=${transport.toLowerCase()}>`;
  }

  legKey(callId: string, ourTag: string): string {
    return `${callId}\n${ourTag}`;
  }

  /** Route in-dialog requests of (callId, ourTag) to `handler` until detached. */
  attachDialog(callId: string, ourTag: string, handler: (req: SipRequest, tx: ServerTransaction | null) => void): void {
    this.external.set(this.legKey(callId, ourTag), handler);
  }

  detachDialog(callId: string, ourTag: string): void {
    this.external.delete(this.legKey(callId, ourTag));
  }

  /** Admit INVITEs only from these carriers (none configured: everyone, the embedded default's dev mode). */
  setCarriers(carriers: readonly CarrierRecord[]): void {
    this.admission = new CarrierAdmission(carriers);
  }

  /** The live or ended leg of (callId, ourTag); an answered call that ended says only ENDED_LEG. */
  findLeg(callId: string, ourTag: string): LegMatch | typeof ENDED_LEG | undefined {
    const key = this.legKey(callId, ourTag);
    return this.legs.get(key) ?? this.endedLegs.get(key);
  }

  /** The in-dialog side of the B2BUA (re-anchoring sends its re-INVITEs and BYEs through it). */
  get dialogs(): InDialogHandler {
    return this.inDialog;
  }

  /**
   * Take over an answered call rebuilt from shared state (adopt.ts): its
   * in-dialog requests are routed here from now on. Throws CONFLICT when a
   * call with that sid or a leg with those tags is already live.
   */
  registerAdopted(call: Call): void {
    const aKey = this.legKey(call.a.callId, call.a.localTag);
    const bKey = this.legKey(call.b.callId, call.b.localTag);
    if (this.calls.has(call.sid) || this.legs.has(aKey) || this.legs.has(bKey) || this.endedLegs.has(aKey) || this.endedLegs.has(bKey)) {
      throw new MeshError('CONFLICT', `call ${call.sid} is already live on this node`);
    }
    this.media.attach(call.a.callId, call.mediaNodeId);
    this.registerCall(call);
  }

  /**
   * Until the returned release is called, an in-dialog request whose dialog
   * is not known is kept (its server transaction absorbs retransmissions)
   * instead of being answered 481; release replays the kept ones in arrival
   * order, once the adopted calls are registered. A standby binds the node's
   * SIP address before it has read the calls from Redis: without this, a
   * caller's BYE arriving in between got 481, the caller gave up and the
   * adopted call was held until the standby stopped (issue 12). Release is
   * idempotent; at most MAX_HELD_REQUESTS are kept.
   */
  holdUnknownDialogs(): () => void {
    const held: HeldRequest[] = [];
    this.held = held;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (this.held === held) this.held = undefined;
      if (held.length > 0) this.log.info('in-dialog requests held during the takeover replayed', { count: held.length });
      for (const h of held) this.dispatch(h.req, h.tx, h.source);
    };
  }

  /** Make a call live: found by its sid and by each leg's (Call-ID, our tag). */
  registerCall(call: Call): void {
    this.calls.set(call.sid, call);
    this.opts.calls.add(call.sid, 'b2bua');
    this.legs.set(this.legKey(call.a.callId, call.a.localTag), { call, role: 'a' });
    this.legs.set(this.legKey(call.b.callId, call.b.localTag), { call, role: 'b' });
  }

  /** True once close() began: new INVITEs are refused. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Carrier admission of a new INVITE from `sourceAddress` for `dialed`. */
  admit(sourceAddress: string, dialed: string): ReturnType<CarrierAdmission['admit']> {
    return this.admission.admit(sourceAddress, dialed);
  }

  private dispatch(req: SipRequest, tx: ServerTransaction | null, source: Endpoint): void {
    try {
      this.onRequest(req, tx, source);
    } catch (e) {
      // A bug in call handling must never take the node down; answer 500 if we still can.
      this.log.error('request handling failed', { method: req.method, error: e as Error });
      if (tx !== null && req.method !== 'ACK') safeRespond(tx, createResponse(req, 500, 'Server Internal Error'));
    }
  }

  private onRequest(req: SipRequest, tx: ServerTransaction | null, source: Endpoint): void {
    const callId = req.headers.get('Call-ID') ?? '';
    const toTag = getTag(req.headers.get('To') ?? '');
    if (toTag !== undefined) {
      const ext = this.external.get(this.legKey(callId, toTag));
      if (ext !== undefined) {
        ext(req, tx);
        return;
      }
      const found = this.findLeg(callId, toTag);
      if (found === undefined && tx !== null && this.held !== undefined && this.held.length < MAX_HELD_REQUESTS) {
        this.held.push({ req, tx, source });
        return;
      }
      if (found === undefined) {
        // RFC 3261 §12.2.2: a request for a dialog we do not know gets 481; ACK gets nothing.
        if (tx !== null && req.method !== 'ACK') {
          tx.respond(createResponse(req, 481, 'Call/Transaction Does Not Exist'));
        }
        return;
      }
      if (found === ENDED_LEG) this.inDialog.answerEnded(req, tx);
      else this.inDialog.handle(found.call, found.role, req, tx);
      return;
    }
    if (tx === null) return; // ACK outside any dialog: nothing to do (RFC 3261 §17.2.3 stray ACK)
    switch (req.method) {
      case 'INVITE':
        this.newCalls.onInvite(req, tx, source).catch((e: unknown) => this.onHandlerError(e, req, tx));
        return;
      case 'OPTIONS':
        tx.respond(createResponse(req, 200, 'OK', { headers: [['Allow', ALLOW], ['Accept', SDP_TYPE]] }));
        return;
      case 'BYE':
      case 'INFO':
        tx.respond(createResponse(req, 481, 'Call/Transaction Does Not Exist'));
        return;
      case 'REGISTER':
        if (this.opts.onClientRegister !== undefined && (source.transport === 'WS' || source.transport === 'WSS')) {
          this.opts.onClientRegister(req, tx, source);
          return;
        }
        tx.respond(createResponse(req, 405, 'Method Not Allowed', { headers: [['Allow', ALLOW]] }));
        return;
      case 'SUBSCRIBE':
      case 'NOTIFY':
      case 'MESSAGE':
      case 'REFER':
      case 'UPDATE':
      case 'PRACK':
      case 'PUBLISH':
        tx.respond(createResponse(req, 405, 'Method Not Allowed', { headers: [['Allow', ALLOW]] }));
        return;
      default:
        tx.respond(createResponse(req, 501, 'Not Implemented', { headers: [['Allow', ALLOW]] }));
    }
  }

  /** End an unanswered call with a final status to the caller. */
  /** `answer.headers`: passed on to the caller (the callee's Warning and Retry-After); a 503 without Retry-After gets ours. */
  failCall(call: Call, answer: ErrorCode | { status: number; reason: string; headers?: [string, string][] }): void {
    if (call.state === 'ended' || call.state === 'answered' || call.state === 'ending') return;
    const { status, reason } = typeof answer === 'string' ? sipAnswer(answer) : answer;
    const passed = typeof answer === 'string' ? [] : (answer.headers ?? []);
    const hasRetry = passed.some(([name]) => name.toLowerCase() === 'retry-after');
    const retry: [string, string][] = status === 503 && !hasRetry ? [['Retry-After', String(this.opts.retryAfterSeconds)]] : [];
    this.countFailure(status);
    if (call.a.tx !== undefined && call.a.invite !== undefined) {
      safeRespond(call.a.tx, createResponse(call.a.invite, status, reason, { toTag: call.a.localTag, headers: [...passed, ...retry] }));
    }
    this.finish(call, `failed-${status}`);
  }

  /** An async handler threw: log it and answer 500 if the transaction still can. */
  onHandlerError(e: unknown, req: SipRequest, tx: ServerTransaction): void {
    this.log.error('request handling failed', { method: req.method, error: e as Error });
    safeRespond(tx, createResponse(req, 500, 'Server Internal Error'));
  }

  /** A bug while handling a call's events: end the call rather than leave it hanging. */
  onCallError(call: Call, e: unknown): void {
    this.log.error('call handling failed', { sid: call.sid, state: call.state, error: e as Error });
    if (call.state === 'answered' || call.state === 'ending') this.inDialog.hangup(call, 'internal-error', ['a', 'b']);
    else this.failCall(call, 'INTERNAL');
  }

  countFailure(status: number): void {
    this.counters.failures[status] = (this.counters.failures[status] ?? 0) + 1;
  }

  /** Release everything the call holds. Idempotent. */
  finish(call: Call, reason: string): void {
    if (call.state === 'ended') return;
    const wasAnswered = call.answeredAt !== undefined;
    call.state = 'ended';
    clearTimeout(call.noAnswerTimer);
    this.calls.delete(call.sid);
    this.opts.calls.remove(call.sid);
    // Keep leg keys briefly so retransmitted BYEs / 2xx still match and get answered, not 481.
    for (const [callId, tag, role] of [[call.a.callId, call.a.localTag, 'a'], [call.b.callId, call.b.localTag, 'b']] as const) {
      const key = this.legKey(callId, tag);
      this.legs.delete(key);
      this.endedLegs.set(key, wasAnswered ? ENDED_LEG : { call, role });
    }
    if (wasAnswered) this.counters.completed++;
    this.media.release(call.a.callId);
    this.media.delete(call.mediaNodeId, call.a.callId).catch((e: unknown) => {
      this.log.warn('media delete failed', { sid: call.sid, error: e as Error });
    });
    this.persist(call, reason);
    // An unanswered call stays in endedLegs with its dialogs and B INVITE (to ACK and BYE a late
    // 2xx); an answered one only as ENDED_LEG, the call held no longer than a BYE retry in flight.
    // Either way its SDPs serve nothing any more.
    call.sdp.fromA = call.sdp.fromB = call.sdp.toA = call.sdp.toB = undefined;
    try {
      const progressAt = call.ringingAt ?? call.answeredAt;
      this.opts.onCallEnded?.({ sid: call.sid, from: call.from, to: call.to, createdAt: call.createdAt, answeredAt: call.answeredAt, endedAt: Date.now(), reason, forwardedHome: call.forwardedHome, traceKey: call.a.callId, ...(progressAt !== undefined ? { postDialDelayMs: progressAt - call.createdAt } : {}) });
    } catch (e) {
      this.log.warn('onCallEnded hook failed', { sid: call.sid, error: e as Error });
    }
  }

  persist(call: Call, endReason?: string): void {
    if (this.store === undefined) return;
    // Keys are added to a literal, never after a spread (object-shapes.test.ts); save() serialises at once.
    const record: StoredCall = {
      callSid: call.sid,
      nodeId: this.opts.nodeId,
      region: this.opts.region,
      state: call.state,
      from: call.from,
      to: call.to,
      aCallId: call.a.callId,
      bCallId: call.b.callId,
      mediaNodeId: call.mediaNodeId,
      createdAt: call.createdAt,
      answeredAt: call.answeredAt,
    };
    if (call.state === 'ended') {
      // An ended call is kept an hour for whoever asks how it ended; nothing takes it over,
      // so its dialogs, endpoints and SDPs (four fifths of the record) are left out.
      record.endedAt = Date.now();
      record.endReason = endReason ?? 'ended';
    } else {
      // What a standby needs to rebuild the legs (adopt.ts) and, later, re-anchor the media.
      record.aDialog = call.a.dialog?.toJSON();
      record.bDialog = call.b.dialog?.toJSON();
      record.aSource = call.a.source;
      record.bDest = call.b.dest;
      record.aRemoteTag = call.a.remoteTag;
      record.aLocalTag = call.a.localTag;
      record.bLocalTag = call.b.localTag;
      record.bRemoteTag = call.b.remoteTag;
      if (call.state === 'answered') record.sdp = call.sdp;
    }
    void this.store.save(record);
  }

  /** Stop taking calls; hang up live ones. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reanchorer.close();
    for (const call of [...this.calls.values()]) {
      if (call.state === 'answered') this.inDialog.hangup(call, 'shutdown', ['a', 'b']);
      else this.failCall(call, 'SHUTTING_DOWN');
    }
    // The BYEs just sent go out; retries would outlive the stack.
    this.byeRetries.close();
    this.endedLegs.clear();
  }

  /** The leg on the other side. */
  static other(role: LegRole): LegRole {
    return otherLeg(role);
  }

  static leg(call: Call, role: LegRole): Leg {
    return role === 'a' ? call.a : call.b;
  }
}

export { safeRespond } from './core.js';
