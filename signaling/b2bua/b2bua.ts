/**
 * The B2BUA that anchors calls: every inbound INVITE becomes two dialogs (A:
 * carrier → us, B: us → destination) with the media of both anchored on one
 * rtpengine session. Requests are dispatched here; the per-call in-dialog
 * work (BYE, re-INVITE, INFO) lives in `in-dialog.ts`.
 */
import { randomBytes } from 'node:crypto';
import { isMeshError, MeshError } from '../../regions/core/errors.js';
import { asCallSid } from '../../regions/core/ids.js';
import type { Logger } from '../../infra/log.js';
import { Dialog } from '../sip/dialog/index.js';
import {
  createResponse,
  generateCallId,
  generateTag,
  getTag,
  parseCSeq,
  parseNameAddr,
  parseUri,
  parseVia,
  SipHeaders,
  type Endpoint,
  type SipRequest,
  type SipResponse,
} from '../sip/message/index.js';
import type { ServerTransaction, SipStack } from '../sip/stack.js';
import { uriToEndpoint } from '../sip/transport/endpoint.js';
import type { Call, Leg, LegRole } from './call.js';
import type { CarrierRecord } from '../../regions/store/schema.js';
import { CarrierAdmission } from './carrier-admission.js';
import type { CallStore } from './call-store.js';
import { InDialogHandler } from './in-dialog.js';
import { CALL_SID_HEADER, EDGE_REGION_HEADER, MEDIA_NODE_HEADER, PASSTHROUGH_NODE, withPassthrough, type MeshRouting } from './mesh.js';
import type { MediaPort } from './media-port.js';
import { Reanchorer, type ReanchorOptions } from './reanchor.js';
import type { RouteTable } from './routes.js';
import { sdpBody, SDP_TYPE } from './sdp.js';

export interface B2buaOptions {
  region: string;
  nodeId: string;
  /** Concurrent call cap; beyond it INVITEs get 503. */
  maxCalls: number;
  /** Retry-After seconds with a 503. */
  retryAfterSeconds: number;
  /** Timer C: ring time before the B leg is cancelled and A gets 408. */
  noAnswerTimeoutMs: number;
  /** Re-anchoring of calls whose media node died. Defaults as ReanchorOptions'. */
  reanchor?: ReanchorOptions;
  /** Home-region anchoring between regions; absent: every call is local. */
  mesh?: MeshRouting;
  /** Told once when each call is answered (recording); a throwing hook is logged, never fatal. */
  onCallAnswered?: (answered: AnsweredCall) => void;
  /** Told once when each call ends (accounting, call records); a throwing hook is logged, never fatal. */
  onCallEnded?: (ended: EndedCall) => void;
}

/** What an answered call reports to `onCallAnswered`. */
export interface AnsweredCall {
  sid: string;
  to: string;
  /** rtpengine call-id of the call's media session (the A leg's Call-ID). */
  callId: string;
  /** The caller's tag in that session. */
  callerTag: string;
  mediaNodeId: string;
}

/** What an ended call reports to `onCallEnded`. */
export interface EndedCall {
  sid: string;
  from: string;
  to: string;
  createdAt: number;
  answeredAt: number | undefined;
  endedAt: number;
  /** `failed-486`, `bye-from-a`, … */
  reason: string;
}

export interface B2buaCounters {
  attempts: number;
  answered: number;
  completed: number;
  /** Final failures sent to the caller, by SIP status. */
  failures: Record<number, number>;
}

/** Methods we accept; sent in Allow with 405 (RFC 3261 §20.5). */
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO';

export class B2bua {
  readonly counters: B2buaCounters = { attempts: 0, answered: 0, completed: 0, failures: {} };
  /** Live calls by CallSid. */
  readonly calls = new Map<string, Call>();
  /** Leg lookup: `${callId}\n${ourTag}` → call + leg. */
  private readonly legs = new Map<string, { call: Call; role: LegRole }>();
  private readonly inDialog: InDialogHandler;
  /** Moves answered calls off a media node that died (reanchor.ts). */
  readonly reanchorer: Reanchorer;
  /** Carrier admission for new INVITEs; replaced whenever the region's carriers are reloaded. */
  private admission = new CarrierAdmission([]);
  /** In-dialog handlers of calls this B2BUA does not anchor itself (API-originated calls). */
  private readonly external = new Map<string, (req: SipRequest, tx: ServerTransaction | null) => void>();
  private closed = false;

  /** The media port, with calls anchored at another region's edge passed through untouched. */
  private readonly media: MediaPort;

  constructor(
    readonly stack: SipStack,
    media: MediaPort,
    private readonly routes: RouteTable,
    private readonly store: CallStore | undefined,
    private readonly log: Logger,
    private readonly opts: B2buaOptions,
  ) {
    this.media = withPassthrough(media);
    this.inDialog = new InDialogHandler(this, stack, this.media, log);
    this.reanchorer = new Reanchorer(this, stack, this.media, log, opts.reanchor);
    stack.onRequest((req, tx, source) => {
      try {
        this.onRequest(req, tx, source);
      } catch (e) {
        // A bug in call handling must never take the node down; answer 500 if we still can.
        log.error('request handling failed', { method: req.method, error: e as Error });
        if (tx !== null && req.method !== 'ACK') safeRespond(tx, createResponse(req, 500, 'Server Internal Error'));
      }
    });
    stack.onStray2xx((res) => this.inDialog.onStray2xx(res));
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  /** Our Contact on the transport a leg uses. */
  contact(transport: 'UDP' | 'TCP'): string {
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

  findLeg(callId: string, ourTag: string): { call: Call; role: LegRole } | undefined {
    return this.legs.get(this.legKey(callId, ourTag));
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
    if (this.calls.has(call.sid) || this.legs.has(aKey) || this.legs.has(bKey)) {
      throw new MeshError('CONFLICT', `call ${call.sid} is already live on this node`);
    }
    this.media.attach(call.a.callId, call.mediaNodeId);
    this.calls.set(call.sid, call);
    this.legs.set(aKey, { call, role: 'a' });
    this.legs.set(bKey, { call, role: 'b' });
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
      const found = this.legs.get(this.legKey(callId, toTag));
      if (found === undefined) {
        // RFC 3261 §12.2.2: a request for a dialog we do not know gets 481; ACK gets nothing.
        if (tx !== null && req.method !== 'ACK') {
          tx.respond(createResponse(req, 481, 'Call/Transaction Does Not Exist'));
        }
        return;
      }
      this.inDialog.handle(found.call, found.role, req, tx);
      return;
    }
    if (tx === null) return; // ACK outside any dialog: nothing to do (RFC 3261 §17.2.3 stray ACK)
    switch (req.method) {
      case 'INVITE':
        this.onInvite(req, tx, source).catch((e: unknown) => this.onHandlerError(e, req, tx));
        return;
      case 'OPTIONS':
        tx.respond(createResponse(req, 200, 'OK', { headers: [['Allow', ALLOW], ['Accept', SDP_TYPE]] }));
        return;
      case 'BYE':
      case 'INFO':
        tx.respond(createResponse(req, 481, 'Call/Transaction Does Not Exist'));
        return;
      case 'REGISTER':
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

  /** New call: checks, media allocation, B leg. */
  private async onInvite(req: SipRequest, tx: ServerTransaction, source: Endpoint): Promise<void> {
    this.counters.attempts++;
    const reject = (status: number, reason: string, headers: [string, string][] = []): void => {
      this.countFailure(status);
      tx.respond(createResponse(req, status, reason, { toTag: generateTag(), headers }));
    };
    if (this.closed) return reject(503, 'Node Shutting Down', [['Retry-After', String(this.opts.retryAfterSeconds)]]);

    // RFC 3261 §16.3 step 3 / §8.2: Max-Forwards; a B2BUA passes the decremented value on.
    const mfText = req.headers.get('Max-Forwards');
    const maxForwards = mfText === undefined ? 70 : Number(mfText);
    if (!Number.isInteger(maxForwards) || maxForwards < 0 || maxForwards > 255) {
      return reject(400, 'Invalid Max-Forwards');
    }
    if (maxForwards === 0) return reject(483, 'Too Many Hops');
    if (this.isLoop(req)) return reject(482, 'Loop Detected');

    let dialed: string;
    try {
      const uri = parseUri(req.uri);
      dialed = uri.user ?? '';
    } catch {
      return reject(400, 'Malformed Request-URI');
    }
    // Mesh: a call forwarded by a peer region's edge is anchored here with its media left at the
    // edge; a call for a tenant homed elsewhere is forwarded to its home region.
    const mesh = this.opts.mesh;
    const edgeRegion = req.headers.get(EDGE_REGION_HEADER);
    const fromPeer = mesh !== undefined && edgeRegion !== undefined && mesh.peerRegionOf(source.address) === edgeRegion;
    if (!fromPeer) {
      const admitted = this.admission.admit(source.address, dialed);
      if (!admitted.ok) {
        this.log.info('INVITE refused by carrier admission', { source: source.address, dialed, reason: admitted.reason });
        return reject(403, 'Source Not Admitted');
      }
    }
    const home = fromPeer ? undefined : mesh?.homeRegionOf(dialed);
    const forwardTo = home !== undefined && home !== mesh?.region ? mesh?.signalingUri(home) : undefined;
    if (home !== undefined && home !== mesh?.region && forwardTo === undefined) return reject(503, `Home Region ${home} Unknown`);
    const route = forwardTo !== undefined ? { prefix: '', destination: forwardTo } : this.routes.lookup(dialed);
    if (route === undefined) return reject(404, 'No Route To Number');
    if (this.calls.size >= this.opts.maxCalls) {
      return reject(503, 'Call Capacity Reached', [['Retry-After', String(this.opts.retryAfterSeconds)]]);
    }
    const contentType = req.headers.get('Content-Type');
    if (req.body.length === 0 || contentType === undefined || !contentType.toLowerCase().startsWith(SDP_TYPE)) {
      // Late offer (INVITE without SDP) is not supported yet: rtpengine needs the offer to anchor media.
      return reject(488, 'SDP Offer Required');
    }
    let dest: Endpoint;
    try {
      dest = uriToEndpoint(parseUri(route.destination), 'UDP');
    } catch (e) {
      this.log.error('route destination unusable', { route: route.destination, error: e as Error });
      return reject(500, 'Bad Route Destination');
    }

    const aCallId = req.headers.get('Call-ID')!;
    const aFromTag = getTag(req.headers.get('From')!) ?? '';
    const retry: [string, string][] = [['Retry-After', String(this.opts.retryAfterSeconds)]];
    let nodeId: string;
    try {
      nodeId = fromPeer ? PASSTHROUGH_NODE : this.media.acquire(aCallId).nodeId;
    } catch (e) {
      if (isMeshError(e, 'SERVICE_UNAVAILABLE')) return reject(503, 'No Media Node Available', retry);
      throw e;
    }
    let bSdp: string;
    try {
      bSdp = await this.media.offer(nodeId, aCallId, aFromTag, req.body.toString('utf8'));
    } catch (e) {
      this.media.release(aCallId);
      this.log.warn('media offer failed', { callId: aCallId, nodeId, error: e as Error });
      return reject(503, 'Media Node Unavailable', retry);
    }
    if (tx.isCancelled) {
      // CANCEL arrived while we talked to rtpengine; the stack already answered the CANCEL.
      this.media.release(aCallId);
      void this.media.delete(nodeId, aCallId).catch(() => {});
      this.countFailure(487);
      tx.respond(createResponse(req, 487, 'Request Terminated', { toTag: generateTag() }));
      return;
    }

    const sid = asCallSid('CA' + randomBytes(16).toString('hex'));
    const bCallId = generateCallId(this.stack.localEndpoint('UDP').address);
    const bLocalTag = generateTag();
    const fromNa = parseNameAddr(req.headers.get('From')!);
    const local = this.stack.localEndpoint(dest.transport);
    const destUri = parseUri(route.destination);
    const bRuri = `sip:${encodeURIComponent(dialed).replace(/%2B/g, '+')}@${destUri.host}${destUri.port !== undefined ? `:${destUri.port}` : ''}${dest.transport === 'TCP' ? ';transport=tcp' : ''}`;
    const fromUser = parseUri(fromNa.uri).user ?? 'anonymous';
    const bHeaders = new SipHeaders([
      ['From', `${fromNa.displayName !== undefined ? `"${fromNa.displayName.replace(/["\\]/g, '')}" ` : ''}<sip:${fromUser}@${local.address}>;tag=${bLocalTag}`],
      ['To', `<${bRuri}>`],
      ['Call-ID', bCallId],
      ['CSeq', '1 INVITE'],
      ['Max-Forwards', String(maxForwards - 1)],
      ['Contact', this.contact(dest.transport)],
      ['Content-Type', SDP_TYPE],
    ]);
    if (forwardTo !== undefined && mesh !== undefined) {
      bHeaders.append(EDGE_REGION_HEADER, mesh.region);
      bHeaders.append(CALL_SID_HEADER, sid);
      bHeaders.append(MEDIA_NODE_HEADER, nodeId);
    } else if (fromPeer) {
      // Keep the call's identity along the path (the edge's CallSid).
      const edgeSid = req.headers.get(CALL_SID_HEADER);
      if (edgeSid !== undefined) bHeaders.append(CALL_SID_HEADER, edgeSid);
    }
    const bInvite: SipRequest = { type: 'request', method: 'INVITE', uri: bRuri, version: 'SIP/2.0', headers: bHeaders, body: sdpBody(bSdp) };

    const call: Call = {
      sid,
      state: 'routing',
      a: { role: 'a', invite: req, tx, source, callId: aCallId, remoteTag: aFromTag, localTag: generateTag(), dialog: undefined },
      b: { role: 'b', invite: bInvite, dest, callId: bCallId, localTag: bLocalTag, remoteTag: undefined, tx: undefined, dialog: undefined },
      mediaNodeId: nodeId,
      from: fromUser,
      to: dialed,
      createdAt: Date.now(),
      answeredAt: undefined,
      cancelled: false,
      reinvite: undefined,
      reanchoring: false,
      sdp: { fromA: req.body.toString('utf8'), fromB: undefined, toA: undefined, toB: bSdp },
      noAnswerTimer: undefined,
    };
    this.calls.set(sid, call);
    this.legs.set(this.legKey(aCallId, call.a.localTag), { call, role: 'a' });
    this.legs.set(this.legKey(bCallId, bLocalTag), { call, role: 'b' });
    // Persisted once answered (dialogs exist then) and when it ends: what another node needs to take over.

    tx.onCancel(() => this.onCancel(call));
    call.state = 'proceeding';
    call.noAnswerTimer = setTimeout(() => this.onNoAnswer(call), this.opts.noAnswerTimeoutMs);
    call.b.tx = this.stack.sendRequest(bInvite, dest, {
      onProvisional: (res) => this.onBProvisional(call, res).catch((e: unknown) => this.onCallError(call, e)),
      onFinal: (res) => this.onBFinal(call, res).catch((e: unknown) => this.onCallError(call, e)),
      onTimeout: () => {
        this.log.warn('B leg timed out', { sid, bCallId, dest: `${dest.address}:${dest.port}` });
        this.failCall(call, 408, 'Request Timeout');
      },
      onTransportError: (e) => {
        this.log.warn('B leg transport error', { sid, error: e });
        this.failCall(call, 503, 'Destination Unreachable');
      },
    });
  }

  /** RFC 3261 §16.3 step 4 (loop detection), adapted: a request that already passed through us. */
  private isLoop(req: SipRequest): boolean {
    const me = this.stack.localEndpoint('UDP');
    for (const v of req.headers.getList('Via')) {
      try {
        const via = parseVia(v);
        if (via.host === me.address && (via.port ?? 5060) === me.port) return true;
      } catch {
        // an unparsable Via further down is not ours
      }
    }
    return false;
  }

  private async onBProvisional(call: Call, res: SipResponse): Promise<void> {
    if (call.state !== 'proceeding' || call.cancelled || res.status === 100) return;
    const toTag = getTag(res.headers.get('To') ?? '');
    if (toTag !== undefined) call.b.remoteTag ??= toTag;
    let body: Buffer | undefined;
    if (res.body.length > 0 && toTag !== undefined) {
      try {
        body = sdpBody(await this.media.answer(call.mediaNodeId, call.a.callId, call.a.remoteTag, toTag, res.body.toString('utf8')));
      } catch (e) {
        this.log.warn('media answer (early) failed', { sid: call.sid, error: e as Error });
        body = undefined;
      }
    }
    if (call.state !== 'proceeding' || call.cancelled || call.a.tx === undefined || call.a.invite === undefined) return;
    call.a.tx.respond(
      createResponse(call.a.invite, res.status, res.reason, {
        toTag: call.a.localTag,
        headers: [['Contact', this.contact(call.a.source.transport)]],
        ...(body !== undefined ? { body, contentType: SDP_TYPE } : {}),
      }),
    );
  }

  private async onBFinal(call: Call, res: SipResponse): Promise<void> {
    if (res.status >= 300) {
      if (call.cancelled) return; // A already has its 487 / 408
      // Map the callee's failure for the caller: most statuses pass through; 6xx too.
      const status = res.status === 401 || res.status === 407 ? 403 : res.status;
      this.failCall(call, status, status === res.status ? res.reason : 'Forbidden');
      return;
    }
    // 2xx: the B dialog exists now. We ACK the callee ourselves at once (our offer was in the INVITE,
    // so the ACK carries no SDP), then answer the caller.
    const toTag = getTag(res.headers.get('To') ?? '') ?? '';
    call.b.remoteTag = toTag;
    if (call.b.invite === undefined) return; // an adopted call is answered already; its B INVITE is not ours to finish
    const bDialog = Dialog.fromUac(call.b.invite, res);
    call.b.dialog = bDialog;
    this.inDialog.sendAck(call, 'b', parseCSeq(res.headers.get('CSeq') ?? '1 INVITE').seq);
    if (call.cancelled || call.state !== 'proceeding') {
      // Caller gave up while the callee answered: hang the callee up (RFC 3261 §15).
      this.inDialog.sendBye(call, 'b');
      return;
    }
    let aSdp: string;
    try {
      aSdp = await this.media.answer(call.mediaNodeId, call.a.callId, call.a.remoteTag, toTag, res.body.toString('utf8'));
    } catch (e) {
      this.log.warn('media answer failed', { sid: call.sid, error: e as Error });
      this.inDialog.sendBye(call, 'b');
      this.failCall(call, 503, 'Media Node Unavailable');
      return;
    }
    const aTx = call.a.tx;
    const aInvite = call.a.invite;
    if (call.cancelled || call.state !== 'proceeding' || aTx === undefined || aInvite === undefined) {
      this.inDialog.sendBye(call, 'b');
      return;
    }
    clearTimeout(call.noAnswerTimer);
    call.sdp.fromB = res.body.toString('utf8');
    call.sdp.toA = aSdp;
    call.state = 'answered';
    call.answeredAt = Date.now();
    this.counters.answered++;
    const ok = createResponse(aInvite, 200, 'OK', {
      toTag: call.a.localTag,
      headers: [['Contact', this.contact(call.a.source.transport)]],
      body: sdpBody(aSdp),
      contentType: SDP_TYPE,
    });
    call.a.dialog = Dialog.fromUas(aInvite, call.a.localTag, { state: 'confirmed', localContact: this.contact(call.a.source.transport) });
    aTx.onAckTimeout(() => {
      // RFC 3261 §13.3.1.4: no ACK for our 2xx within 64*T1 → the dialog is ended with BYE.
      if (call.state === 'answered') this.inDialog.hangup(call, 'a-ack-timeout', ['a', 'b']);
    });
    aTx.respond(ok);
    this.persist(call);
    try {
      this.opts.onCallAnswered?.({ sid: call.sid, to: call.to, callId: call.a.callId, callerTag: call.a.remoteTag, mediaNodeId: call.mediaNodeId });
    } catch (e) {
      this.log.warn('onCallAnswered hook failed', { sid: call.sid, error: e as Error });
    }
  }

  private onCancel(call: Call): void {
    if (call.state !== 'proceeding' && call.state !== 'routing') return;
    call.cancelled = true;
    if (call.b.tx !== undefined) this.stack.cancel(call.b.tx);
    this.failCall(call, 487, 'Request Terminated');
  }

  private onNoAnswer(call: Call): void {
    if (call.state !== 'proceeding') return;
    call.cancelled = true;
    if (call.b.tx !== undefined) this.stack.cancel(call.b.tx);
    this.failCall(call, 408, 'No Answer');
  }

  /** End an unanswered call with a final status to the caller. */
  failCall(call: Call, status: number, reason: string): void {
    if (call.state === 'ended' || call.state === 'answered' || call.state === 'ending') return;
    const retry: [string, string][] = status === 503 ? [['Retry-After', String(this.opts.retryAfterSeconds)]] : [];
    this.countFailure(status);
    if (call.a.tx !== undefined && call.a.invite !== undefined) {
      safeRespond(call.a.tx, createResponse(call.a.invite, status, reason, { toTag: call.a.localTag, headers: retry }));
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
    else this.failCall(call, 500, 'Server Internal Error');
  }

  private countFailure(status: number): void {
    this.counters.failures[status] = (this.counters.failures[status] ?? 0) + 1;
  }

  /** Release everything the call holds. Idempotent. */
  finish(call: Call, reason: string): void {
    if (call.state === 'ended') return;
    const wasAnswered = call.answeredAt !== undefined;
    call.state = 'ended';
    clearTimeout(call.noAnswerTimer);
    this.calls.delete(call.sid);
    // Keep leg keys briefly so retransmitted BYEs / 2xx still match and get answered, not 481.
    setTimeout(() => {
      this.legs.delete(this.legKey(call.a.callId, call.a.localTag));
      this.legs.delete(this.legKey(call.b.callId, call.b.localTag));
    }, 32_000).unref();
    if (wasAnswered) this.counters.completed++;
    this.media.release(call.a.callId);
    this.media.delete(call.mediaNodeId, call.a.callId).catch((e: unknown) => {
      this.log.warn('media delete failed', { sid: call.sid, error: e as Error });
    });
    this.persist(call, reason);
    try {
      this.opts.onCallEnded?.({ sid: call.sid, from: call.from, to: call.to, createdAt: call.createdAt, answeredAt: call.answeredAt, endedAt: Date.now(), reason });
    } catch (e) {
      this.log.warn('onCallEnded hook failed', { sid: call.sid, error: e as Error });
    }
  }

  persist(call: Call, endReason?: string): void {
    if (this.store === undefined) return;
    void this.store.save({
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
      ...(call.answeredAt !== undefined ? { answeredAt: call.answeredAt } : {}),
      ...(call.state === 'ended' ? { endedAt: Date.now(), endReason: endReason ?? 'ended' } : {}),
      ...(call.a.dialog !== undefined ? { aDialog: call.a.dialog.toJSON() } : {}),
      ...(call.b.dialog !== undefined ? { bDialog: call.b.dialog.toJSON() } : {}),
      // What a standby needs to rebuild the legs (adopt.ts) and, later, re-anchor the media.
      aSource: call.a.source,
      bDest: call.b.dest,
      aRemoteTag: call.a.remoteTag,
      aLocalTag: call.a.localTag,
      bLocalTag: call.b.localTag,
      ...(call.b.remoteTag !== undefined ? { bRemoteTag: call.b.remoteTag } : {}),
      ...(call.state === 'answered' ? { sdp: { ...call.sdp } } : {}),
    });
  }

  /** Stop taking calls; hang up live ones. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reanchorer.close();
    for (const call of [...this.calls.values()]) {
      if (call.state === 'answered') this.inDialog.hangup(call, 'shutdown', ['a', 'b']);
      else this.failCall(call, 503, 'Node Shutting Down');
    }
  }

  /** The leg on the other side. */
  static other(role: LegRole): LegRole {
    return role === 'a' ? 'b' : 'a';
  }

  static leg(call: Call, role: LegRole): Leg {
    return role === 'a' ? call.a : call.b;
  }
}

/** Respond, ignoring a transaction that is already gone (e.g. terminated by a CANCEL race). */
export function safeRespond(tx: ServerTransaction, res: SipResponse): void {
  try {
    tx.respond(res);
  } catch (e) {
    if (!(e instanceof MeshError)) throw e;
  }
}
