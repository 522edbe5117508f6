/**
 * A SIP-over-WebSocket phone for tests (RFC 7118), standing in for a browser
 * client on the signaling side: it registers an identity with a bearer token
 * over its own WebSocket connection (test/support/ws-client.ts), rings on
 * every INVITE (180 at once), and lets the test answer (200 with an SDP the
 * test chooses, plain RTP), reject, or hang up; it can also place a call
 * (INVITE with the token, ACK of the 2xx); CANCEL gets 200 + 487, BYE
 * gets 200, as a user agent answers them (RFC 3261 §9.2, §15.1.2). Every wait
 * is bounded.
 */
import { randomBytes } from 'node:crypto';
import { Dialog } from '../../signaling/sip/dialog/index.js';
import { createResponse, getTag, parseSipMessage, serializeSipMessage, SipHeaders, type SipRequest, type SipResponse } from '../../signaling/sip/message/index.js';
import { waitUntil } from './wait.js';
import { connectWs, type WsClient } from './ws-client.js';

export interface RingingCall {
  readonly invite: SipRequest;
  readonly toTag: string;
  state: 'ringing' | 'answered' | 'cancelled' | 'rejected' | 'ended';
  acked: boolean;
  /** The far end hung up (BYE received). */
  byeReceived: boolean;
  dialog: Dialog | undefined;
}

export interface WsPhoneOptions {
  host: string;
  port: number;
  localAddress: string;
  token: string;
  /** The user part of the SIP URIs (cosmetic: the token says who registers). */
  user: string;
}

const id = (): string => randomBytes(6).toString('hex');

export class WsPhone {
  readonly calls: RingingCall[] = [];
  /** Calls this phone placed and got answered (call()). */
  readonly placed: RingingCall[] = [];
  private readonly pending = new Map<string, (r: SipResponse) => void>();
  private readonly contact: string;
  private readonly viaHost: string;
  private cseq = 1;
  private readonly regCallId = `reg-${id()}`;
  private seen = 0;
  private readonly timer: NodeJS.Timeout;

  private constructor(
    readonly ws: WsClient,
    private readonly o: WsPhoneOptions,
  ) {
    this.viaHost = `${id()}.invalid`;
    this.contact = `sip:${o.user}-${id()}@${this.viaHost};transport=ws`;
    this.timer = setInterval(() => this.pump(), 5);
    this.timer.unref();
  }

  static async open(o: WsPhoneOptions): Promise<WsPhone> {
    const ws = await connectWs({ host: o.host, port: o.port, localAddress: o.localAddress });
    return new WsPhone(ws, o);
  }

  /** REGISTER with the bearer token; resolves with the final response. */
  register(expires = 300): Promise<SipResponse> {
    const seq = this.cseq++;
    const req: SipRequest = {
      type: 'request',
      method: 'REGISTER',
      uri: `sip:${this.o.host}`,
      version: 'SIP/2.0',
      headers: new SipHeaders([
        ['Via', `SIP/2.0/WS ${this.viaHost};branch=z9hG4bK${id()};rport`],
        ['Max-Forwards', '70'],
        ['To', `<sip:${this.o.user}@${this.o.host}>`],
        ['From', `<sip:${this.o.user}@${this.o.host}>;tag=${id()}`],
        ['Call-ID', this.regCallId],
        ['CSeq', `${seq} REGISTER`],
        ['Contact', `<${this.contact}>`],
        ['Expires', String(expires)],
        ['Authorization', `Bearer ${this.o.token}`],
        ['Content-Length', '0'],
      ]),
      body: Buffer.alloc(0),
    };
    return this.request(req);
  }

  /** Answer a ringing call with `sdp` (the platform then ACKs). */
  answer(call: RingingCall, sdp: string): void {
    if (call.state !== 'ringing') throw new Error(`cannot answer a call that is ${call.state}`);
    call.state = 'answered';
    call.dialog = Dialog.fromUas(call.invite, call.toTag, { state: 'confirmed', localContact: `<${this.contact}>` });
    this.send(createResponse(call.invite, 200, 'OK', { toTag: call.toTag, headers: [['Contact', `<${this.contact}>`]], body: Buffer.from(sdp), contentType: 'application/sdp' }));
  }

  reject(call: RingingCall, status: number, reason: string): void {
    call.state = 'rejected';
    this.send(createResponse(call.invite, status, reason, { toTag: call.toTag }));
  }

  /** Hang up an answered call (BYE); resolves with its response. */
  hangup(call: RingingCall): Promise<SipResponse> {
    if (call.dialog === undefined) throw new Error('no dialog to hang up');
    const bye = call.dialog.createRequest('BYE');
    bye.headers.prepend('Via', `SIP/2.0/WS ${this.viaHost};branch=z9hG4bK${id()};rport`);
    call.state = 'ended';
    return this.request(bye);
  }

  /**
   * Place a call to `to` (the Request-URI user) with `sdp`; on a 2xx it ACKs and the call is
   * `answered` with its dialog (a later BYE from the platform marks it). Resolves with the
   * final response and the call.
   */
  async call(to: string, sdp: string): Promise<{ response: SipResponse; call: RingingCall }> {
    const callId = `out-${id()}`;
    const invite: SipRequest = {
      type: 'request',
      method: 'INVITE',
      uri: `sip:${to}@${this.o.host}`,
      version: 'SIP/2.0',
      headers: new SipHeaders([
        ['Via', `SIP/2.0/WS ${this.viaHost};branch=z9hG4bK${id()};rport`],
        ['Max-Forwards', '70'],
        ['To', `<sip:${to}@${this.o.host}>`],
        ['From', `<sip:${this.o.user}@${this.o.host}>;tag=${id()}`],
        ['Call-ID', callId],
        ['CSeq', '1 INVITE'],
        ['Contact', `<${this.contact}>`],
        ['Authorization', `Bearer ${this.o.token}`],
        ['Content-Type', 'application/sdp'],
        ['Content-Length', String(Buffer.byteLength(sdp))],
      ]),
      body: Buffer.from(sdp),
    };
    const response = await this.request(invite);
    const call: RingingCall = { invite, toTag: getTag(response.headers.get('To') ?? '') ?? '', state: 'rejected', acked: false, byeReceived: false, dialog: undefined };
    if (response.status >= 200 && response.status < 300) {
      call.state = 'answered';
      call.acked = true;
      call.dialog = Dialog.fromUac(invite, response);
      const ack = call.dialog.createAck(1);
      ack.headers.prepend('Via', `SIP/2.0/WS ${this.viaHost};branch=z9hG4bK${id()};rport`);
      this.send(ack);
      this.placed.push(call);
    }
    return { response, call };
  }

  /** Wait for the `n`-th call (1-based) to ring. */
  async ringing(n = 1, timeoutMs = 5000): Promise<RingingCall> {
    await waitUntil(() => this.calls.length >= n, timeoutMs, `call ${n} ringing at ${this.o.user}`);
    return this.calls[n - 1]!;
  }

  close(): void {
    clearInterval(this.timer);
    this.ws.destroy();
  }

  private request(req: SipRequest): Promise<SipResponse> {
    const key = `${req.headers.get('Call-ID')}|${req.headers.get('CSeq')}`;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(key);
        reject(new Error(`no final response to ${req.method} within 5 s`));
      }, 5000);
      this.pending.set(key, (r) => {
        clearTimeout(t);
        resolve(r);
      });
      this.send(req);
    });
  }

  private send(m: SipRequest | SipResponse): void {
    if (!this.ws.isClosed) this.ws.send(serializeSipMessage(m).toString('utf8'));
  }

  private pump(): void {
    while (this.seen < this.ws.messages.length) {
      const raw = this.ws.messages[this.seen++]!;
      let msg;
      try {
        msg = parseSipMessage(raw.data);
      } catch {
        continue;
      }
      if (msg.type === 'response') {
        if (msg.status < 200) continue;
        const key = `${msg.headers.get('Call-ID')}|${msg.headers.get('CSeq')}`;
        this.pending.get(key)?.(msg);
        this.pending.delete(key);
        continue;
      }
      this.onRequest(msg);
    }
  }

  private findCall(req: SipRequest): RingingCall | undefined {
    const callId = req.headers.get('Call-ID');
    return this.calls.find((c) => c.invite.headers.get('Call-ID') === callId) ?? this.placed.find((c) => c.invite.headers.get('Call-ID') === callId);
  }

  private onRequest(req: SipRequest): void {
    const call = this.findCall(req);
    switch (req.method) {
      case 'INVITE': {
        if (call !== undefined) {
          this.send(createResponse(req, 488, 'Not Acceptable Here', { toTag: call.toTag })); // no re-INVITEs here
          return;
        }
        const c: RingingCall = { invite: req, toTag: id(), state: 'ringing', acked: false, byeReceived: false, dialog: undefined };
        this.calls.push(c);
        this.send(createResponse(req, 180, 'Ringing', { toTag: c.toTag, headers: [['Contact', `<${this.contact}>`]] }));
        return;
      }
      case 'CANCEL':
        this.send(createResponse(req, call === undefined ? 481 : 200, call === undefined ? 'Call/Transaction Does Not Exist' : 'OK'));
        if (call !== undefined && call.state === 'ringing') {
          call.state = 'cancelled';
          this.send(createResponse(call.invite, 487, 'Request Terminated', { toTag: call.toTag }));
        }
        return;
      case 'ACK':
        // Only the ACK of our 2xx counts (the ACK of a 487 belongs to the INVITE transaction, RFC 3261 §17.1.1.3).
        if (call !== undefined && call.state === 'answered' && getTag(req.headers.get('To') ?? '') === call.toTag) call.acked = true;
        return;
      case 'BYE':
        this.send(createResponse(req, call === undefined ? 481 : 200, call === undefined ? 'Call/Transaction Does Not Exist' : 'OK'));
        if (call !== undefined) {
          call.byeReceived = true;
          call.state = 'ended';
        }
        return;
      default:
        this.send(createResponse(req, 200, 'OK'));
    }
  }
}
