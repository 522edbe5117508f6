/**
 * A SIP dialog (RFC 3261 §12): the state two user agents share for the life
 * of a call leg, and the rules for requests sent and received inside it.
 * Pure logic: no timers, no I/O. The transaction layer adds Via and sends.
 */
import { randomInt } from 'node:crypto';
import { MeshError } from '../../../regions/core/errors.js';
import { asCallId, asTag } from '../../../regions/core/ids.js';
import { getTag, ownOptional, ownString, parseCSeq, parseUri } from '../message/index.js';
import type { SipMessage, SipRequest, SipResponse } from '../message/types.js';
import { dialogKey } from './dialog-key.js';
import { DIALOG_JSON_VERSION, MAX_CSEQ, parseDialogJSON, type DialogJSON } from './dialog-json.js';
import { buildInDialogRequest, checkRequestOptions } from './in-dialog-request.js';
import { firstContactUri, isSipsUri, requireHeader, withTag, withoutTag } from './message-fields.js';
import { computeRequestTarget, routeSetFromRecordRoute, routeUri, type RequestTarget } from './route-set.js';
import type {
  DialogCreateOptions, DialogId, DialogRequestOptions, DialogRole, DialogState, ReceiveResult, UasDialogOptions,
} from './types.js';

/**
 * Methods whose Contact replaces the dialog's remote target: re-INVITE
 * (RFC 3261 §12.2), UPDATE (RFC 3311 §5), SUBSCRIBE and NOTIFY (RFC 6665 §4.1).
 */
const TARGET_REFRESH_METHODS: ReadonlySet<string> = new Set(['INVITE', 'UPDATE', 'SUBSCRIBE', 'NOTIFY']);

export function isTargetRefresh(method: string): boolean {
  return TARGET_REFRESH_METHODS.has(method);
}

interface DialogInit {
  role: DialogRole;
  state: DialogState;
  id: DialogId;
  localSeq: number | undefined;
  remoteSeq: number | undefined;
  localUri: string;
  remoteUri: string;
  remoteTarget: string;
  routeSet: string[];
  secure: boolean;
  localContact: string | undefined;
}

export class Dialog {
  readonly role: DialogRole;
  readonly id: Readonly<DialogId>;
  /** Our From/To name-addr without tag (RFC 3261 §12.1: local URI). */
  readonly localUri: string;
  /** The peer's From/To name-addr without tag (remote URI). */
  readonly remoteUri: string;
  /** RFC 3261 §12.1.1: set when the dialog was created over a SIPS Request-URI. */
  readonly secure: boolean;
  /** Contact we put in target-refresh requests; see DialogCreateOptions. */
  localContact: string | undefined;

  private _state: DialogState;
  private _localSeq: number | undefined;
  private _remoteSeq: number | undefined;
  private _remoteTarget: string;
  private _routeSet: string[];

  private constructor(init: DialogInit) {
    // A dialog lives as long as its call: its strings must not pin the messages they came from (own-string.ts).
    this.role = init.role;
    this.id = Object.freeze({ callId: ownString(init.id.callId), localTag: ownString(init.id.localTag), remoteTag: ownString(init.id.remoteTag) } as DialogId);
    this.localUri = ownString(init.localUri);
    this.remoteUri = ownString(init.remoteUri);
    this.secure = init.secure;
    this.localContact = ownOptional(init.localContact);
    this._state = init.state;
    this._localSeq = init.localSeq;
    this._remoteSeq = init.remoteSeq;
    this._remoteTarget = ownString(init.remoteTarget);
    this._routeSet = init.routeSet.map(ownString);
  }

  get state(): DialogState { return this._state; }
  /** CSeq of the last request we sent in the dialog; undefined until we send one (UAS). */
  get localSeq(): number | undefined { return this._localSeq; }
  /** CSeq of the last request the peer sent; undefined until it sends one (UAC). */
  get remoteSeq(): number | undefined { return this._remoteSeq; }
  /** The peer's Contact URI: where in-dialog requests are addressed. */
  get remoteTarget(): string { return this._remoteTarget; }
  /** Route values in the order they go into requests we send. */
  get routeSet(): readonly string[] { return this._routeSet; }
  /** Key for DialogTable and stores (see `dialogKey`). */
  get key(): string { return dialogKey(this.id.callId, this.id.localTag, this.id.remoteTag); }

  /**
   * Dialog of a UAC from its INVITE and a 101-199 response with a To tag
   * (early) or a 2xx (confirmed). RFC 3261 §12.1.2: route set = the
   * response's Record-Route reversed; remote target = its Contact; local
   * sequence = the INVITE's CSeq; remote sequence empty.
   */
  static fromUac(invite: SipRequest, response: SipResponse, opts: DialogCreateOptions = {}): Dialog {
    if (response.status <= 100 || response.status >= 300) {
      throw new MeshError('INTERNAL', `a ${response.status} response does not create a dialog`);
    }
    const callId = requireHeader(invite, 'Call-ID').trim();
    if (requireHeader(response, 'Call-ID').trim() !== callId) {
      throw new MeshError('BAD_REQUEST', 'response Call-ID differs from the request');
    }
    const from = requireHeader(invite, 'From');
    const localTag = getTag(from);
    if (localTag === undefined || localTag === '') throw new MeshError('BAD_REQUEST', 'request has no From tag');
    const remoteTag = getTag(requireHeader(response, 'To'));
    if (remoteTag === undefined || remoteTag === '') throw new MeshError('BAD_REQUEST', 'response has no To tag');
    const confirmed = response.status >= 200;
    let remoteTarget = firstContactUri(response);
    if (remoteTarget === undefined) {
      // A 2xx to INVITE must carry Contact (§13.3.1.4); a 1xx may not, and the 2xx
      // that confirms the dialog will set the target (§13.2.2.4).
      if (confirmed) throw new MeshError('BAD_REQUEST', 'dialog-creating 2xx has no Contact');
      remoteTarget = invite.uri;
    }
    return new Dialog({
      role: 'uac',
      state: confirmed ? 'confirmed' : 'early',
      id: { callId: asCallId(callId), localTag: asTag(localTag), remoteTag: asTag(remoteTag) },
      localSeq: parseCSeq(requireHeader(invite, 'CSeq')).seq,
      remoteSeq: undefined,
      localUri: withoutTag(from),
      remoteUri: withoutTag(requireHeader(invite, 'To')),
      remoteTarget,
      routeSet: routeSetFromRecordRoute(response.headers, 'reversed'),
      secure: isSipsUri(invite.uri),
      localContact: opts.localContact ?? invite.headers.getList('Contact')[0],
    });
  }

  /**
   * Dialog of a UAS from the INVITE it received and the tag it puts in its
   * To. RFC 3261 §12.1.1: route set = the request's Record-Route in order;
   * remote target = its Contact; remote sequence = its CSeq; local sequence
   * empty; a missing From tag gives an empty remote tag (RFC 2543 peers).
   */
  static fromUas(invite: SipRequest, localTag: string, opts: UasDialogOptions = {}): Dialog {
    if (localTag === '') throw new MeshError('INTERNAL', 'local tag must not be empty');
    const from = requireHeader(invite, 'From');
    const remoteTarget = firstContactUri(invite);
    // §8.1.1.8: a request that can create a dialog must carry Contact.
    if (remoteTarget === undefined) throw new MeshError('BAD_REQUEST', 'dialog-creating request has no Contact');
    return new Dialog({
      role: 'uas',
      state: opts.state ?? 'early',
      id: {
        callId: asCallId(requireHeader(invite, 'Call-ID').trim()),
        localTag: asTag(localTag),
        remoteTag: asTag(getTag(from) ?? ''),
      },
      localSeq: undefined,
      remoteSeq: parseCSeq(requireHeader(invite, 'CSeq')).seq,
      localUri: withoutTag(requireHeader(invite, 'To')),
      remoteUri: withoutTag(from),
      remoteTarget,
      routeSet: routeSetFromRecordRoute(invite.headers, 'as-received'),
      secure: isSipsUri(invite.uri),
      localContact: opts.localContact,
    });
  }

  /** Load state written by `toJSON` (e.g. from Redis on another node). Throws MeshError('BAD_REQUEST') if invalid. */
  static fromJSON(input: unknown): Dialog {
    const j = parseDialogJSON(input);
    // Parse the URIs now so a corrupt record fails on load, not on the first request.
    parseUri(j.remoteTarget);
    for (const r of j.routeSet) parseUri(routeUri(r));
    return new Dialog({
      role: j.role,
      state: j.state,
      id: { callId: asCallId(j.callId), localTag: asTag(j.localTag), remoteTag: asTag(j.remoteTag) },
      localSeq: j.localSeq ?? undefined,
      remoteSeq: j.remoteSeq ?? undefined,
      localUri: j.localUri,
      remoteUri: j.remoteUri,
      remoteTarget: j.remoteTarget,
      routeSet: [...j.routeSet],
      secure: j.secure,
      localContact: j.localContact ?? undefined,
    });
  }

  toJSON(): DialogJSON {
    return {
      v: DIALOG_JSON_VERSION,
      role: this.role,
      state: this._state,
      callId: this.id.callId,
      localTag: this.id.localTag,
      remoteTag: this.id.remoteTag,
      localSeq: this._localSeq ?? null,
      remoteSeq: this._remoteSeq ?? null,
      localUri: this.localUri,
      remoteUri: this.remoteUri,
      remoteTarget: this._remoteTarget,
      routeSet: [...this._routeSet],
      secure: this.secure,
      localContact: this.localContact ?? null,
    };
  }

  /** Request-URI, Route values and next hop for the next request (RFC 3261 §12.2.1.1). */
  requestTarget(): RequestTarget {
    return computeRequestTarget(this._routeSet, this._remoteTarget);
  }

  /**
   * URI the request must be sent to (RFC 3261 §8.1.2): the first route when
   * there is a route set (for a strict first route that is also the
   * Request-URI), otherwise the remote target.
   */
  nextHopUri(): string {
    return this.requestTarget().nextHop;
  }

  /**
   * A request inside the dialog (RFC 3261 §12.2.1.1), without Via (the
   * transaction layer adds it). CSeq is the local sequence plus one, except
   * for ACK and CANCEL, which reuse the number of the request they refer to.
   */
  createRequest(method: string, opts: DialogRequestOptions = {}): SipRequest {
    if (this._state === 'terminated') throw new MeshError('CLOSED', `dialog ${this.key} is terminated`);
    const checked = checkRequestOptions(method, opts);
    const refresh = isTargetRefresh(method);
    if (refresh && this.localContact === undefined && !checked.overridden.has('contact')) {
      // §8.1.1.8 / §12.2.1.1: a target refresh must say where the peer reaches us.
      throw new MeshError('INTERNAL', `${method} in a dialog needs a local Contact`);
    }
    const target = this.requestTarget();
    const seq = this.takeSeq(method, opts.cseq);
    return buildInDialogRequest({
      method,
      seq,
      target,
      from: withTag(this.localUri, this.id.localTag),
      to: this.id.remoteTag === '' ? this.remoteUri : withTag(this.remoteUri, this.id.remoteTag),
      callId: this.id.callId,
      contact: refresh ? this.localContact : undefined,
    }, opts, checked);
  }

  /**
   * ACK for a 2xx to an INVITE in this dialog (RFC 3261 §13.2.2.4): built
   * like any in-dialog request, with the INVITE's CSeq number and method ACK.
   */
  createAck(inviteCseq: number, body?: Buffer, contentType?: string): SipRequest {
    const opts: DialogRequestOptions = { cseq: inviteCseq };
    if (body !== undefined) opts.body = body;
    if (contentType !== undefined) opts.contentType = contentType;
    return this.createRequest('ACK', opts);
  }

  /**
   * Check a request received in the dialog and update state (RFC 3261 §12.2.2).
   * Nothing changes unless the result is ok. ACK and CANCEL carry the number of
   * the request they refer to, so they are not held to the ordering rule.
   */
  receiveRequest(req: SipRequest): ReceiveResult {
    if (this._state === 'terminated') return { ok: false, status: 481, reason: 'Dialog Terminated' };
    if (!this.isOurs(req)) return { ok: false, status: 481, reason: 'Call/Transaction Does Not Exist' };
    let seq: number;
    let newTarget: string | undefined;
    try {
      const cseq = parseCSeq(requireHeader(req, 'CSeq'));
      if (cseq.method !== req.method) return { ok: false, status: 400, reason: 'CSeq Method Mismatch' };
      seq = cseq.seq;
      if (isTargetRefresh(req.method)) newTarget = firstContactUri(req);
    } catch {
      return { ok: false, status: 400, reason: 'Bad Request' };
    }
    if (req.method === 'ACK' || req.method === 'CANCEL') return { ok: true };
    if (this._remoteSeq !== undefined && seq < this._remoteSeq) {
      return { ok: false, status: 500, reason: 'CSeq Out Of Order' };
    }
    this._remoteSeq = seq;
    if (newTarget !== undefined) this._remoteTarget = ownString(newTarget);
    return { ok: true };
  }

  /**
   * Apply a response received to a request we sent in this dialog.
   * - 2xx to a target refresh (re-INVITE, UPDATE, ...): the Contact becomes
   *   the remote target (RFC 3261 §12.2.1.2).
   * - 2xx to INVITE on an early UAC dialog: confirms it (see `confirm`).
   * - 1xx to INVITE with Contact on an early dialog: updates the remote target.
   * Throws MeshError('TRANSACTION_DOES_NOT_EXIST') for a response of another dialog.
   */
  updateFromResponse(res: SipResponse): void {
    if (this._state === 'terminated') return;
    if (!this.isOurs(res)) {
      throw new MeshError('TRANSACTION_DOES_NOT_EXIST', `response does not belong to dialog ${this.key}`);
    }
    const method = parseCSeq(requireHeader(res, 'CSeq')).method;
    if (res.status >= 200 && res.status < 300) {
      if (method === 'INVITE' && this._state === 'early' && this.role === 'uac') {
        this.confirm(res);
        return;
      }
      if (isTargetRefresh(method)) {
        const target = firstContactUri(res);
        if (target !== undefined) this._remoteTarget = ownString(target);
      }
      return;
    }
    if (res.status > 100 && res.status < 200 && method === 'INVITE' && this._state === 'early') {
      const target = firstContactUri(res);
      if (target !== undefined) this._remoteTarget = ownString(target);
    }
  }

  /**
   * Move an early dialog to confirmed. A UAC passes the 2xx: RFC 3261
   * §13.2.2.4 recomputes the route set from it (Record-Route reversed) and
   * takes the remote target from its Contact. No-op when already confirmed.
   */
  confirm(response?: SipResponse): void {
    if (this._state === 'terminated') throw new MeshError('CLOSED', `dialog ${this.key} is terminated`);
    if (this._state === 'confirmed') return;
    if (response !== undefined && this.role === 'uac') {
      if (response.status < 200 || response.status >= 300) {
        throw new MeshError('INTERNAL', `a ${response.status} response does not confirm a dialog`);
      }
      if (!this.isOurs(response)) {
        throw new MeshError('TRANSACTION_DOES_NOT_EXIST', `response does not belong to dialog ${this.key}`);
      }
      const target = firstContactUri(response);
      if (target === undefined) throw new MeshError('BAD_REQUEST', 'dialog-confirming 2xx has no Contact');
      this._routeSet = routeSetFromRecordRoute(response.headers, 'reversed').map(ownString);
      this._remoteTarget = ownString(target);
    }
    this._state = 'confirmed';
  }

  /** End the dialog; later requests get 481 and createRequest throws. Idempotent. */
  terminate(): void {
    this._state = 'terminated';
  }

  /** Same Call-ID and tags as this dialog, seen from the receiving side (§12.2.2). */
  private isOurs(msg: SipMessage): boolean {
    const callId = msg.headers.get('Call-ID')?.trim();
    const from = msg.headers.get('From');
    const to = msg.headers.get('To');
    if (callId !== this.id.callId || from === undefined || to === undefined) return false;
    const fromTag = getTag(from) ?? '';
    const toTag = getTag(to) ?? '';
    return msg.type === 'request'
      ? toTag === this.id.localTag && fromTag === this.id.remoteTag
      : fromTag === this.id.localTag && toTag === this.id.remoteTag;
  }

  /** CSeq number for the next request, advancing the local sequence unless ACK/CANCEL. */
  private takeSeq(method: string, explicit: number | undefined): number {
    if (explicit !== undefined && (!Number.isInteger(explicit) || explicit < 0 || explicit > MAX_CSEQ)) {
      throw new MeshError('INTERNAL', `invalid CSeq ${explicit}`);
    }
    if (method === 'ACK' || method === 'CANCEL') {
      const seq = explicit ?? this._localSeq;
      if (seq === undefined) throw new MeshError('INTERNAL', `${method} needs the CSeq of the request it refers to`);
      return seq;
    }
    let seq: number;
    if (explicit !== undefined) {
      // §12.2.2: the peer rejects a number not above the last one with 500.
      if (this._localSeq !== undefined && explicit <= this._localSeq) {
        throw new MeshError('INTERNAL', `CSeq ${explicit} is not above ${this._localSeq}`);
      }
      seq = explicit;
    } else if (this._localSeq === undefined) {
      // §12.2.1.1: an empty local sequence starts at a value chosen per §8.1.1.5;
      // a small random start leaves the rest of the 31-bit space for the call.
      seq = randomInt(1, 2 ** 16);
    } else {
      seq = this._localSeq + 1;
    }
    if (seq > MAX_CSEQ) throw new MeshError('INTERNAL', `CSeq space exhausted in dialog ${this.key}`);
    this._localSeq = seq;
    return seq;
  }
}
