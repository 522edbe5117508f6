/**
 * WebSocket framing (RFC 6455 §5) for SIP over WebSocket (RFC 7118): a
 * bounded incremental parser and a frame encoder. No extension is ever
 * negotiated (the handshake offers none), so RSV bits must be 0. Every
 * violation is a `WsProtocolError` carrying the close code the connection
 * must be failed with (§7.4.1): 1002 protocol error, 1007 invalid UTF-8,
 * 1009 too big.
 */
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** RFC 6455 §7.4.1 status codes this module sends. */
export const CLOSE_CODE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  invalidPayload: 1007,
  policyViolation: 1008,
  tooBig: 1009,
} as const;

export type WsEvent =
  | { kind: 'message'; binary: boolean; data: Buffer }
  | { kind: 'ping'; data: Buffer }
  | { kind: 'pong'; data: Buffer }
  /** `code` absent when the peer sent an empty close frame (§7.1.5: 1005, never sent on the wire). */
  | { kind: 'close'; code: number | undefined; reason: string };

export interface WsFrameLimits {
  /** Largest payload of one frame. */
  maxFrameBytes: number;
  /** Largest message (the payloads of its fragments together). */
  maxMessageBytes: number;
}

export class WsProtocolError extends Error {
  constructor(
    /** Close code to fail the connection with (RFC 6455 §7.4.1). */
    readonly closeCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'WsProtocolError';
  }
}

/** Control frames carry at most 125 bytes and are never fragmented (§5.5). */
const MAX_CONTROL_PAYLOAD = 125;

/**
 * Incremental frame parser. `expectMasked`: a server requires masked frames
 * from clients and a client requires unmasked ones from servers (§5.1).
 * Buffered bytes never exceed one frame header + `maxFrameBytes` + the last
 * chunk pushed: a frame announcing more is refused from its header.
 */
export class WsFrameParser {
  private pending: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] | undefined;
  private fragmentBytes = 0;
  private fragmentBinary = false;
  private failed = false;

  constructor(
    private readonly limits: WsFrameLimits,
    private readonly expectMasked: boolean,
  ) {}

  /** Feed bytes; returns the events completed by them. Throws WsProtocolError (and stays failed). */
  push(chunk: Buffer): WsEvent[] {
    if (this.failed) throw new WsProtocolError(CLOSE_CODE.protocolError, 'connection already failed');
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const events: WsEvent[] = [];
    try {
      for (;;) {
        const ev = this.next();
        if (ev === null) break;
        if (ev !== undefined) events.push(ev);
      }
    } catch (e) {
      this.failed = true;
      this.pending = Buffer.alloc(0);
      this.fragments = undefined;
      throw e;
    }
    return events;
  }

  /** Bytes held for an incomplete frame or message. */
  get bufferedBytes(): number {
    return this.pending.length + this.fragmentBytes;
  }

  /** One frame: its event, undefined for a fragment that completes nothing, null when more bytes are needed. */
  private next(): WsEvent | undefined | null {
    const buf = this.pending;
    if (buf.length < 2) return null;
    const b0 = buf[0]!;
    const b1 = buf[1]!;
    const fin = (b0 & 0x80) !== 0;
    if ((b0 & 0x70) !== 0) throw new WsProtocolError(CLOSE_CODE.protocolError, 'RSV bits set without a negotiated extension');
    const opcode = b0 & 0x0f;
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.expectMasked) {
      throw new WsProtocolError(CLOSE_CODE.protocolError, this.expectMasked ? 'client frame not masked (RFC 6455 §5.1)' : 'server frame masked (RFC 6455 §5.1)');
    }
    const isControl = (opcode & 0x08) !== 0;
    if (!isKnownOpcode(opcode)) throw new WsProtocolError(CLOSE_CODE.protocolError, `reserved opcode ${opcode}`);
    let length = b1 & 0x7f;
    let offset = 2;
    if (isControl && (!fin || length > MAX_CONTROL_PAYLOAD)) {
      throw new WsProtocolError(CLOSE_CODE.protocolError, 'control frame fragmented or longer than 125 bytes (RFC 6455 §5.5)');
    }
    if (length === 126) {
      if (buf.length < 4) return null;
      length = buf.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buf.length < 10) return null;
      // Anything needing the high 32 bits is far above any limit here.
      if (buf.readUInt32BE(2) !== 0) throw new WsProtocolError(CLOSE_CODE.tooBig, 'frame larger than the limit');
      length = buf.readUInt32BE(6);
      offset = 10;
    }
    if (length > this.limits.maxFrameBytes) {
      throw new WsProtocolError(CLOSE_CODE.tooBig, `frame of ${length} bytes over the limit of ${this.limits.maxFrameBytes}`);
    }
    if (!isControl) {
      const isContinuation = opcode === OPCODE.continuation;
      if (isContinuation && this.fragments === undefined) throw new WsProtocolError(CLOSE_CODE.protocolError, 'continuation frame without a message to continue');
      if (!isContinuation && this.fragments !== undefined) throw new WsProtocolError(CLOSE_CODE.protocolError, 'new message before the last one was finished');
      const total = (isContinuation ? this.fragmentBytes : 0) + length;
      if (total > this.limits.maxMessageBytes) {
        throw new WsProtocolError(CLOSE_CODE.tooBig, `message over the limit of ${this.limits.maxMessageBytes} bytes`);
      }
    }
    const maskLen = masked ? 4 : 0;
    if (buf.length < offset + maskLen + length) return null;
    let payload: Buffer = Buffer.from(buf.subarray(offset + maskLen, offset + maskLen + length));
    if (masked) unmask(payload, buf.subarray(offset, offset + 4));
    this.pending = buf.subarray(offset + maskLen + length);
    if (this.pending.length === 0) this.pending = Buffer.alloc(0);

    switch (opcode) {
      case OPCODE.ping:
        return { kind: 'ping', data: payload };
      case OPCODE.pong:
        return { kind: 'pong', data: payload };
      case OPCODE.close:
        return parseClose(payload);
      default:
        break;
    }
    if (opcode !== OPCODE.continuation) {
      this.fragments = [];
      this.fragmentBytes = 0;
      this.fragmentBinary = opcode === OPCODE.binary;
    }
    this.fragments!.push(payload);
    this.fragmentBytes += payload.length;
    if (!fin) return undefined;
    payload = this.fragments!.length === 1 ? this.fragments![0]! : Buffer.concat(this.fragments!);
    const binary = this.fragmentBinary;
    this.fragments = undefined;
    this.fragmentBytes = 0;
    // §8.1: a text message must be valid UTF-8 once reassembled.
    if (!binary && !isUtf8(payload)) throw new WsProtocolError(CLOSE_CODE.invalidPayload, 'text message is not valid UTF-8');
    return { kind: 'message', binary, data: payload };
  }
}

function isKnownOpcode(op: number): boolean {
  return op === 0x0 || op === 0x1 || op === 0x2 || op === 0x8 || op === 0x9 || op === 0xa;
}

function unmask(payload: Buffer, key: Buffer): void {
  for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
}

/** §5.5.1, §7.4: a close body is empty or a valid status code plus UTF-8 reason. */
function parseClose(payload: Buffer): WsEvent {
  if (payload.length === 0) return { kind: 'close', code: undefined, reason: '' };
  if (payload.length === 1) throw new WsProtocolError(CLOSE_CODE.protocolError, 'close frame with a one-byte body');
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code)) throw new WsProtocolError(CLOSE_CODE.protocolError, `invalid close code ${code}`);
  const reason = payload.subarray(2);
  if (!isUtf8(reason)) throw new WsProtocolError(CLOSE_CODE.invalidPayload, 'close reason is not valid UTF-8');
  return { kind: 'close', code, reason: reason.toString('utf8') };
}

/** §7.4.1–7.4.2: codes a peer may send in a close frame. */
export function isValidCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  return code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006;
}

/**
 * One final frame. `mask`: true for a client (a fresh random key per frame,
 * §5.3), false for a server. Control payloads over 125 bytes are a bug here.
 */
export function encodeFrame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len <= 0xffff ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  head[0] = 0x80 | opcode;
  head[1] = (mask ? 0x80 : 0) | (lenBytes === 0 ? len : lenBytes === 2 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  else if (lenBytes === 8) {
    head.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    head.writeUInt32BE(len >>> 0, 6);
  }
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + lenBytes);
  const body = Buffer.from(payload);
  unmask(body, key);
  return Buffer.concat([head, body]);
}

/** A close frame with `code` and a reason cut to fit the 125-byte control limit. */
export function encodeClose(code: number, reason: string, mask: boolean): Buffer {
  let r = Buffer.from(reason, 'utf8');
  if (r.length > MAX_CONTROL_PAYLOAD - 2) r = Buffer.from(reason.slice(0, 60), 'utf8').subarray(0, MAX_CONTROL_PAYLOAD - 2);
  const body = Buffer.alloc(2 + r.length);
  body.writeUInt16BE(code, 0);
  r.copy(body, 2);
  return encodeFrame(OPCODE.close, body, mask);
}
