/**
 * In-memory stand-in for the transport layer, for unit tests of the
 * transaction state machines (pure logic + timers). Records every send.
 */
import { SipHeaders, createResponse, parseCSeq } from '../../../../../signaling/sip/message/index.js';
import type { Endpoint, SipRequest, SipResponse } from '../../../../../signaling/sip/message/types.js';
import { TransactionLayer, type TransactionLayerOptions } from '../../../../../signaling/sip/transaction/layer.js';
import type { SentMessage, ServerTransaction, TransactionTransport } from '../../../../../signaling/sip/transaction/types.js';

export class FakeTransport implements TransactionTransport {
  readonly requests: { req: SipRequest; dest: Endpoint }[] = [];
  readonly responses: { res: SipResponse; source: Endpoint }[] = [];
  /** When set, the next send fails with this error (reported asynchronously like a socket would). */
  failWith: Error | undefined;

  sendRequest(req: SipRequest, dest: Endpoint, onError?: (e: Error) => void): void {
    this.requests.push({ req, dest });
    this.maybeFail(onError);
  }

  /** Like the real transport: UDP sends come back as bytes to resend, others as nothing. */
  sendResponse(res: SipResponse, source: Endpoint, onError?: (e: Error) => void): SentMessage | undefined {
    this.responses.push({ res, source });
    this.maybeFail(onError);
    if (source.transport !== 'UDP') return undefined;
    // Unique stand-in bytes; a resend finds its response by them, in either form keepSent leaves them.
    const bytes = Buffer.from(`fake-response-${++this.sentCount}`, 'latin1');
    this.sentResponses.set(bytes.toString('latin1'), res);
    return { bytes, dest: source };
  }

  private sentCount = 0;
  private readonly sentResponses = new Map<string, SipResponse>();
  readonly resends: SentMessage[] = [];

  resend(sent: SentMessage, onError?: (e: Error) => void): void {
    const res = this.sentResponses.get(typeof sent.bytes === 'string' ? sent.bytes : sent.bytes.toString('latin1'));
    if (res === undefined) throw new Error('resend of bytes this transport never sent');
    this.resends.push(sent);
    this.responses.push({ res, source: sent.dest });
    this.maybeFail(onError);
  }

  private maybeFail(onError?: (e: Error) => void): void {
    const e = this.failWith;
    if (e === undefined) return;
    this.failWith = undefined;
    setTimeout(() => onError?.(e), 0);
  }

  methods(): string[] {
    return this.requests.map((r) => r.req.method);
  }

  statuses(): number[] {
    return this.responses.map((r) => r.res.status);
  }
}

export const UDP_PEER: Endpoint = { transport: 'UDP', address: '127.0.6.20', port: 5060 };
export const TCP_PEER: Endpoint = { transport: 'TCP', address: '127.0.6.20', port: 5060 };

let seq = 0;

export interface RequestSpec {
  method?: string;
  branch?: string;
  viaHost?: string;
  viaPort?: number;
  transport?: 'UDP' | 'TCP';
  callId?: string;
  fromTag?: string;
  toTag?: string;
  cseq?: number;
  cseqMethod?: string;
  uri?: string;
}

/** A request as it would arrive (or leave) with one Via. */
export function makeRequest(spec: RequestSpec = {}): SipRequest {
  seq++;
  const method = spec.method ?? 'INVITE';
  const h = new SipHeaders();
  const branch = spec.branch ?? `z9hG4bKtest${seq}`;
  h.append('Via', `SIP/2.0/${spec.transport ?? 'UDP'} ${spec.viaHost ?? '127.0.6.20'}:${spec.viaPort ?? 5060};branch=${branch}`);
  h.append('Max-Forwards', '70');
  h.append('From', `<sip:alice@127.0.6.20>;tag=${spec.fromTag ?? `from${seq}`}`);
  h.append('To', `<sip:bob@127.0.6.10>${spec.toTag ? `;tag=${spec.toTag}` : ''}`);
  h.append('Call-ID', spec.callId ?? `call${seq}@127.0.6.20`);
  h.append('CSeq', `${spec.cseq ?? 1} ${spec.cseqMethod ?? method}`);
  h.append('Route', '<sip:127.0.6.30;lr>');
  return { type: 'request', method, uri: spec.uri ?? 'sip:bob@127.0.6.10', version: 'SIP/2.0', headers: h, body: Buffer.alloc(0) };
}

/** Copy of a request (a retransmission is a new object with the same bytes). */
export function copyRequest(req: SipRequest, method?: string): SipRequest {
  return { ...req, method: method ?? req.method, headers: req.headers.clone() };
}

export function respond(req: SipRequest, status: number, toTag?: string): SipResponse {
  return createResponse(req, status, undefined, toTag === undefined ? {} : { toTag });
}

/** An ACK for a 2xx as a UAC sends it: a new branch, To with the tag from the 2xx. */
export function ackFor2xx(invite: SipRequest, toTag: string, branch: string): SipRequest {
  const cseq = parseCSeq(invite.headers.get('CSeq')!);
  const ack = copyRequest(invite, 'ACK');
  ack.headers.set('Via', `SIP/2.0/UDP 127.0.6.20:5060;branch=${branch}`);
  ack.headers.set('To', `${invite.headers.get('To')!};tag=${toTag}`);
  ack.headers.set('CSeq', `${cseq.seq} ACK`);
  return ack;
}

export interface Harness {
  transport: FakeTransport;
  layer: TransactionLayer;
  requests: { req: SipRequest; tx: ServerTransaction | null; source: Endpoint }[];
  stray: SipResponse[];
}

export function makeLayer(opts: TransactionLayerOptions = {}, onReq?: (req: SipRequest, tx: ServerTransaction | null) => void): Harness {
  const transport = new FakeTransport();
  const h: Harness = { transport, layer: undefined as unknown as TransactionLayer, requests: [], stray: [] };
  h.layer = new TransactionLayer(
    transport,
    {
      onRequest: (req, tx, source) => {
        h.requests.push({ req, tx, source });
        onReq?.(req, tx);
      },
      onStray2xx: (res) => h.stray.push(res),
    },
    opts,
  );
  return h;
}
