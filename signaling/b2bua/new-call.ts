/**
 * Setting up a new call: the checks on an inbound INVITE (Max-Forwards, loops,
 * carrier admission, mesh forwarding, route, capacity, SDP), media
 * allocation, the B leg, and the B leg's responses up to the answer (or the
 * failure) relayed to the caller. The B2BUA owns the call once registered.
 */
import { isMeshError, sipAnswer, type ErrorCode } from '../../regions/core/errors.js';
import { asCallSid } from '../../regions/core/ids.js';
import type { Logger } from '../../regions/core/log.js';
import { newSid } from '../../regions/store/sids.js';
import { Dialog } from '../sip/dialog/index.js';
import {
  createResponse,
  generateCallId,
  generateTag,
  getTag,
  ownOptional,
  ownString,
  parseCSeq,
  parseNameAddr,
  parseUri,
  parseVia,
  SipHeaders,
  type Endpoint,
  type SipRequest,
  type SipResponse,
} from '../sip/message/index.js';
import type { InviteRefusal, ServerTransaction, SipStack } from '../sip/stack.js';
import { uriToEndpoint } from '../sip/transport/endpoint.js';
import type { AppResolution } from '../calls/app-resolver.js';
import type { ClientInviteRoute } from '../clients/client-calls.js';
import { CLIENT_BINDING_HEADER, CLIENT_PARAMS_HEADER, parseClientBinding, relayableClientParams } from '../clients/mesh-delivery.js';
import type { B2buaCore, B2buaOptions } from './core.js';
import type { Call } from './call.js';
import { CALL_SID_HEADER, EDGE_REGION_HEADER, MEDIA_NODE_HEADER, PASSTHROUGH_NODE } from './mesh.js';
import type { MediaPort } from './media-port.js';
import { DEFAULT_OFFER_BUDGET_MS, offerWithRetry } from './offer-retry.js';
import type { RouteTable } from './routes.js';
import { sdpBody, SDP_TYPE } from './sdp.js';

export class NewCallHandler {
  constructor(
    private readonly b2bua: B2buaCore,
    private readonly stack: SipStack,
    private readonly media: MediaPort,
    private readonly routes: RouteTable,
    private readonly log: Logger,
    private readonly opts: B2buaOptions,
  ) {}

  /**
   * The stack's INVITE gate (sip/transaction/layer.ts): refusals that need no
   * lookup, answered statelessly before a transaction exists, so that shedding
   * load costs one parse and one response (no 100 Trying, no timers, no state):
   * shutting down; drained by an operator (the carrier tries elsewhere; in-dialog
   * requests of live calls go on); admission control (admission.ts).
   */
  refuseEarly(): InviteRefusal | undefined {
    const code: ErrorCode | undefined = this.b2bua.isClosed
      ? 'SHUTTING_DOWN'
      : this.opts.calls.isDraining
        ? 'NODE_DRAINING'
        : this.opts.admission?.check() !== undefined
          ? 'NODE_OVERLOADED'
          : undefined;
    if (code === undefined) return undefined;
    this.b2bua.counters.attempts++;
    const { status, reason } = sipAnswer(code);
    this.b2bua.countFailure(status);
    return { status, reason, headers: [['Retry-After', String(this.opts.retryAfterSeconds)]] };
  }

  /** New call: checks, media allocation, B leg. */
  async onInvite(req: SipRequest, tx: ServerTransaction, source: Endpoint): Promise<void> {
    this.b2bua.counters.attempts++;
    // Every refusal is a catalogue entry (regions/core/errors.ts): status and reason in one place.
    const reject = (code: ErrorCode, headers: [string, string][] = [], reason = sipAnswer(code).reason): void => {
      const { status } = sipAnswer(code);
      this.b2bua.countFailure(status);
      tx.respond(createResponse(req, status, reason, { toTag: generateTag(), headers }));
    };
    const receivedAt = performance.now();
    // Shutting down, drained and overloaded were refused before this INVITE had a transaction (refuseEarly).
    const retry: [string, string][] = [['Retry-After', String(this.opts.retryAfterSeconds)]];

    // RFC 3261 §16.3 step 3 / §8.2: Max-Forwards; a B2BUA passes the decremented value on.
    const mfText = req.headers.get('Max-Forwards');
    const maxForwards = mfText === undefined ? 70 : Number(mfText);
    if (!Number.isInteger(maxForwards) || maxForwards < 0 || maxForwards > 255) {
      return reject('INVALID_MAX_FORWARDS');
    }
    if (maxForwards === 0) return reject('TOO_MANY_HOPS');
    if (this.isLoop(req)) return reject('LOOP_DETECTED');

    let dialed: string;
    try {
      const uri = parseUri(req.uri);
      dialed = uri.user ?? '';
    } catch {
      return reject('MALFORMED_REQUEST_URI');
    }
    // Mesh: a call forwarded by a peer region's edge is anchored here with its media left at the
    // edge; a call for a tenant homed elsewhere (the dialed number's record; static rules for
    // numbers no tenant owns) is forwarded to its home region.
    const mesh = this.opts.mesh;
    const edgeRegion = req.headers.get(EDGE_REGION_HEADER);
    const fromPeer = mesh !== undefined && edgeRegion !== undefined && mesh.peerRegionOf(source.address) === edgeRegion;
    // The edge left the caller's media unanchored (an application call): place it where it enters.
    const mediaAtEdge = fromPeer && req.headers.get(MEDIA_NODE_HEADER) === PASSTHROUGH_NODE ? { mediaRegion: edgeRegion } : undefined;
    // A peer region rings a client connected here: relay to the binding's own connection (trusted peers only).
    const clientHeader = fromPeer ? req.headers.get(CLIENT_BINDING_HEADER) : undefined;
    let clientLeg: { contact: string; endpoint: Endpoint } | undefined;
    if (clientHeader !== undefined) {
      const ref = parseClientBinding(clientHeader);
      if (ref === undefined) return reject('BAD_REQUEST', [], `Malformed ${CLIENT_BINDING_HEADER}`);
      clientLeg = this.opts.clients?.reachable(ref.accountSid, ref.identity, ref.bindingId);
      if (clientLeg === undefined) return reject('CLIENT_NOT_REGISTERED');
    }
    // A browser/app client's call (signaling/clients/client-calls.ts): its access token, not a
    // carrier's address, admits it, and it runs in its account's home region, whatever it dials.
    const clients = this.opts.clientCalls;
    const isClient = clientLeg === undefined && clients !== undefined && clients.isClientInvite(req, source, fromPeer);
    let clientRoute: ClientInviteRoute | undefined;
    let forwardTo: string | undefined;
    if (isClient) {
      if (!this.opts.calls.hasRoom()) return reject('CALL_CAPACITY', retry);
      clientRoute = await clients.route(req, source, fromPeer);
      if (clientRoute.kind === 'refused') {
        this.b2bua.countFailure(clientRoute.status);
        tx.respond(createResponse(req, clientRoute.status, clientRoute.reason, { toTag: generateTag(), headers: clientRoute.headers }));
        return;
      }
      if (clientRoute.kind === 'forward') {
        forwardTo = mesh?.signalingUri(clientRoute.homeRegion);
        if (forwardTo === undefined) return reject('SERVICE_UNAVAILABLE', [], `Home Region ${clientRoute.homeRegion} Unknown`);
      }
    } else {
      if (!fromPeer) {
        const admitted = this.b2bua.admit(source.address, dialed);
        if (!admitted.ok) {
          this.log.info('INVITE refused by carrier admission', { source: source.address, dialed, reason: admitted.reason });
          return reject('NOT_ADMITTED');
        }
      }
      // A forwarded call is not re-resolved: the edge resolved it and this is its home.
      const home = fromPeer ? undefined : await mesh?.homeRegionOf(dialed);
      forwardTo = home !== undefined && home !== mesh?.region ? mesh?.signalingUri(home) : undefined;
      if (home !== undefined && home !== mesh?.region && forwardTo === undefined) return reject('SERVICE_UNAVAILABLE', [], `Home Region ${home} Unknown`);
    }
    if (!this.opts.calls.hasRoom()) return reject('CALL_CAPACITY', retry);
    const contentType = req.headers.get('Content-Type');
    const hasOffer = req.body.length > 0 && contentType !== undefined && contentType.toLowerCase().startsWith(SDP_TYPE);
    // A number with an application is answered by the platform here, in its home region.
    const apps = this.opts.inboundApps;
    if (clientRoute?.kind === 'app') {
      if (!hasOffer) return reject('SDP_REQUIRED');
      if (apps === undefined) return reject('SERVICE_UNAVAILABLE', retry);
      return apps.accept(req, tx, source, dialed, clientRoute.binding, mediaAtEdge === undefined ? undefined : { mediaRegion: mediaAtEdge.mediaRegion, capability: 'play' }, clientRoute.caller);
    }
    if (!isClient && forwardTo === undefined && clientLeg === undefined && apps !== undefined) {
      let found: AppResolution = { kind: 'none' };
      try {
        found = await apps.resolve(dialed);
      } catch (e) {
        this.log.warn('application lookup failed; routing the call', { dialed, error: e as Error });
      }
      if (found.kind === 'refused') {
        this.log.info('INVITE to an application number refused', { dialed, reason: found.reason });
        return reject('NUMBER_NOT_IN_SERVICE');
      }
      if (found.kind === 'app') {
        if (!hasOffer) return reject('SDP_REQUIRED');
        return apps.accept(req, tx, source, dialed, found.binding, mediaAtEdge === undefined ? undefined : { mediaRegion: mediaAtEdge.mediaRegion, capability: 'play' });
      }
    }
    const route = clientLeg !== undefined ? { prefix: '', destination: clientLeg.contact } : forwardTo !== undefined ? { prefix: '', destination: forwardTo } : this.routes.lookup(dialed);
    if (route === undefined) return reject('NO_ROUTE');
    if (!hasOffer) {
      // Late offer (INVITE without SDP) is not supported yet: rtpengine needs the offer to anchor media.
      return reject('SDP_REQUIRED');
    }
    let dest: Endpoint;
    try {
      // A client is reached only over its own connection (RFC 7118 §5), whatever its Contact says.
      dest = clientLeg?.endpoint ?? uriToEndpoint(parseUri(route.destination), 'UDP');
    } catch (e) {
      this.log.error('route destination unusable', { route: route.destination, error: e as Error });
      return reject('BAD_ROUTE');
    }

    const aCallId = req.headers.get('Call-ID')!;
    const aFromTag = getTag(req.headers.get('From')!) ?? '';
    // An application call forwarded home keeps its media at this edge unless configured otherwise:
    // nothing is anchored here, the home places the application's leg on a node of this region.
    // A client's call always does: its WebRTC offer must reach the home untouched, which answers it
    // from a media node of this region with the browser's ICE and DTLS (calls/inbound-app.ts).
    const appAtEdge =
      clientRoute?.kind === 'forward' || (forwardTo !== undefined && (this.opts.applicationMedia ?? 'edge') === 'edge' && (await mesh?.runsApplication(dialed)) === true);
    let nodeId: string;
    let bSdp: string;
    if (appAtEdge || (fromPeer && mediaAtEdge === undefined)) {
      // No media here: an application call whose media the home places at this edge, or a call
      // an edge forwarded with its media anchored there. SDP passes through unchanged.
      nodeId = PASSTHROUGH_NODE;
      bSdp = await this.media.offer(nodeId, aCallId, aFromTag, req.body.toString('utf8'));
    } else {
      try {
        // A node that fails the offer (dead, breaker open, out of ports) hands it to the next one.
        const placed = await offerWithRetry(this.media, aCallId, aFromTag, req.body.toString('utf8'), {
          budgetMs: this.opts.mediaOfferBudgetMs ?? DEFAULT_OFFER_BUDGET_MS,
          need: mediaAtEdge,
          isCancelled: () => tx.isCancelled,
          onAttemptFailed: (failedNode, error) => this.log.warn('media offer failed; trying another node', { callId: aCallId, nodeId: failedNode, error: error as Error }),
        });
        nodeId = placed.nodeId;
        bSdp = placed.sdp;
      } catch (e) {
        if (isMeshError(e, 'NO_MEDIA_NODE') || isMeshError(e, 'MEDIA_UNAVAILABLE')) {
          if (e.code === 'MEDIA_UNAVAILABLE') this.log.warn('media offer failed on every node tried', { callId: aCallId, error: e });
          return reject(e.code, retry);
        }
        throw e;
      }
    }
    if (tx.isCancelled) {
      // CANCEL arrived while we talked to rtpengine; the stack already answered the CANCEL.
      this.media.release(aCallId);
      void this.media.delete(nodeId, aCallId).catch(() => {});
      this.b2bua.countFailure(487);
      tx.respond(createResponse(req, 487, 'Request Terminated', { toTag: generateTag() }));
      return;
    }

    const sid = asCallSid(newSid('CA'));
    const bCallId = generateCallId(this.stack.localEndpoint('UDP').address);
    const bLocalTag = generateTag();
    const fromNa = parseNameAddr(req.headers.get('From')!);
    const local = this.stack.localEndpoint(dest.transport);
    const destUri = parseUri(route.destination);
    const bRuri = clientLeg !== undefined
      ? clientLeg.contact
      : `sip:${encodeURIComponent(dialed).replace(/%2B/g, '+')}@${destUri.host}${destUri.port !== undefined ? `:${destUri.port}` : ''}${dest.transport === 'TCP' ? ';transport=tcp' : ''}`;
    const fromUser = parseUri(fromNa.uri).user ?? 'anonymous';
    const bHeaders = new SipHeaders([
      ['From', `${fromNa.displayName !== undefined ? `"${fromNa.displayName.replace(/["\\]/g, '')}" ` : ''}<sip:${fromUser}@${local.address}>;tag=${bLocalTag}`],
      ['To', `<${bRuri}>`],
      ['Call-ID', bCallId],
      ['CSeq', '1 INVITE'],
      ['Max-Forwards', String(maxForwards - 1)],
      ['Contact', this.b2bua.contact(dest.transport)],
      ['Content-Type', SDP_TYPE],
    ]);
    if (forwardTo !== undefined && mesh !== undefined) {
      bHeaders.append(EDGE_REGION_HEADER, mesh.region);
      bHeaders.append(CALL_SID_HEADER, sid);
      bHeaders.append(MEDIA_NODE_HEADER, nodeId);
      if (clientRoute?.kind === 'forward') for (const [name, value] of clientRoute.headers) bHeaders.append(name, value);
    } else if (fromPeer) {
      // Keep the call's identity along the path (the edge's CallSid).
      const edgeSid = req.headers.get(CALL_SID_HEADER);
      if (edgeSid !== undefined) bHeaders.append(CALL_SID_HEADER, edgeSid);
      const params = clientLeg === undefined ? undefined : relayableClientParams(req.headers.get(CLIENT_PARAMS_HEADER));
      if (params !== undefined) bHeaders.append(CLIENT_PARAMS_HEADER, params);
    }
    const bInvite: SipRequest = { type: 'request', method: 'INVITE', uri: bRuri, version: 'SIP/2.0', headers: bHeaders, body: sdpBody(bSdp) };

    const call: Call = {
      sid,
      state: 'routing',
      // Kept for the call's life: copies, so they do not pin the INVITE's text (own-string.ts).
      a: { role: 'a', invite: req, tx, source, callId: ownString(aCallId), remoteTag: ownString(aFromTag), localTag: generateTag(), dialog: undefined },
      b: { role: 'b', invite: bInvite, dest, callId: bCallId, localTag: bLocalTag, remoteTag: undefined, tx: undefined, dialog: undefined },
      mediaNodeId: nodeId,
      from: ownString(fromUser),
      to: ownString(dialed),
      createdAt: Date.now(),
      receivedAt,
      answeredAt: undefined,
      cancelled: false,
      forwardedHome: forwardTo !== undefined && mesh !== undefined,
      fromEdge: fromPeer && edgeRegion !== undefined ? { region: ownString(edgeRegion), callSid: ownOptional(req.headers.get(CALL_SID_HEADER)) } : undefined,
      reinvite: undefined,
      reanchoring: false,
      sdp: { fromA: req.body.toString('utf8'), fromB: undefined, toA: undefined, toB: bSdp },
      noAnswerTimer: undefined,
    };
    this.b2bua.registerCall(call);
    // Persisted once answered (dialogs exist then) and when it ends: what another node needs to take over.

    tx.onCancel(() => this.onCancel(call));
    call.state = 'proceeding';
    call.noAnswerTimer = setTimeout(() => this.onNoAnswer(call), this.opts.noAnswerTimeoutMs);
    call.b.tx = this.stack.sendRequest(bInvite, dest, {
      onProvisional: (res) => this.onBProvisional(call, res).catch((e: unknown) => this.b2bua.onCallError(call, e)),
      onFinal: (res) => this.onBFinal(call, res).catch((e: unknown) => this.b2bua.onCallError(call, e)),
      onTimeout: () => {
        this.log.warn('B leg timed out', { sid, bCallId, dest: `${dest.address}:${dest.port}` });
        this.b2bua.failCall(call, 'REQUEST_TIMEOUT');
      },
      onTransportError: (e) => {
        this.log.warn('B leg transport error', { sid, error: e });
        this.b2bua.failCall(call, 'DESTINATION_UNREACHABLE');
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
    call.ringingAt ??= Date.now();
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
        headers: [['Contact', this.b2bua.contact(call.a.source.transport)]],
        ...(body !== undefined ? { body, contentType: SDP_TYPE } : {}),
      }),
    );
  }

  private async onBFinal(call: Call, res: SipResponse): Promise<void> {
    if (res.status >= 300) {
      if (call.cancelled) return; // A already has its 487 / 408
      // Map the callee's failure for the caller: most statuses pass through; 6xx too.
      const status = res.status === 401 || res.status === 407 ? 403 : res.status;
      // Why it failed (Warning, RFC 3261 §20.43) and when to retry (Retry-After, §20.33) reach the caller;
      // at most two Warnings of 256 characters, so a callee cannot inflate our answer.
      const headers: [string, string][] = res.headers
        .getAll('Warning')
        .slice(0, 2)
        .map((w): [string, string] => ['Warning', w.slice(0, 256)]);
      const retryAfter = res.headers.get('Retry-After');
      if (retryAfter !== undefined && /^\d{1,6}$/.test(retryAfter.trim())) headers.push(['Retry-After', retryAfter.trim()]);
      this.b2bua.failCall(call, { status, reason: status === res.status ? res.reason : 'Forbidden', headers });
      return;
    }
    // 2xx: the B dialog exists now. We ACK the callee ourselves at once (our offer was in the INVITE,
    // so the ACK carries no SDP), then answer the caller.
    const toTag = getTag(res.headers.get('To') ?? '') ?? '';
    call.b.remoteTag = ownString(toTag);
    if (call.b.invite === undefined) return; // an adopted call is answered already; its B INVITE is not ours to finish
    const bDialog = Dialog.fromUac(call.b.invite, res);
    call.b.dialog = bDialog;
    this.b2bua.dialogs.sendAck(call, 'b', parseCSeq(res.headers.get('CSeq') ?? '1 INVITE').seq);
    if (call.cancelled || call.state !== 'proceeding') {
      // Caller gave up while the callee answered: hang the callee up (RFC 3261 §15).
      this.b2bua.dialogs.sendBye(call, 'b');
      return;
    }
    let aSdp: string;
    try {
      aSdp = await this.media.answer(call.mediaNodeId, call.a.callId, call.a.remoteTag, toTag, res.body.toString('utf8'));
    } catch (e) {
      this.log.warn('media answer failed', { sid: call.sid, error: e as Error });
      this.b2bua.dialogs.sendBye(call, 'b');
      this.b2bua.failCall(call, 'MEDIA_UNAVAILABLE');
      return;
    }
    const aTx = call.a.tx;
    const aInvite = call.a.invite;
    if (call.cancelled || call.state !== 'proceeding' || aTx === undefined || aInvite === undefined) {
      this.b2bua.dialogs.sendBye(call, 'b');
      return;
    }
    clearTimeout(call.noAnswerTimer);
    call.sdp.fromB = res.body.toString('utf8');
    call.sdp.toA = aSdp;
    call.state = 'answered';
    call.answeredAt = Date.now();
    this.b2bua.counters.answered++;
    if (call.receivedAt !== undefined) this.b2bua.latency.observeInviteAnswer(performance.now() - call.receivedAt);
    const ok = createResponse(aInvite, 200, 'OK', {
      toTag: call.a.localTag,
      headers: [['Contact', this.b2bua.contact(call.a.source.transport)]],
      body: sdpBody(aSdp),
      contentType: SDP_TYPE,
    });
    call.a.dialog = Dialog.fromUas(aInvite, call.a.localTag, { state: 'confirmed', localContact: this.b2bua.contact(call.a.source.transport) });
    aTx.onAckTimeout(() => {
      // RFC 3261 §13.3.1.4: no ACK for our 2xx within 64*T1 → the dialog is ended with BYE.
      if (call.state === 'answered') this.b2bua.dialogs.hangup(call, 'a-ack-timeout', ['a', 'b']);
    });
    aTx.respond(ok);
    // Nothing builds from the INVITEs or reaches the transactions through the call any more (the
    // transactions live on in the layer for their retransmissions): dropped now, a few ms into the
    // call, they die young instead of being copied by every scavenge of the call's life.
    call.a.invite = call.b.invite = undefined;
    call.a.tx = call.b.tx = undefined;
    call.noAnswerTimer = undefined;
    this.b2bua.persist(call);
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
    this.b2bua.failCall(call, 'REQUEST_TERMINATED');
  }

  private onNoAnswer(call: Call): void {
    if (call.state !== 'proceeding') return;
    call.cancelled = true;
    if (call.b.tx !== undefined) this.stack.cancel(call.b.tx);
    this.b2bua.failCall(call, 'NO_ANSWER');
  }
}
