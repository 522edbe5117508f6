import { describe, expect, it } from 'vitest';
import { CLOSE_CODE, OPCODE, WsFrameParser, WsProtocolError, encodeClose, encodeFrame, isValidCloseCode } from '../../../../../../signaling/sip/transport/websocket/frames.js';

const limits = { maxFrameBytes: 1000, maxMessageBytes: 2000 };
const server = () => new WsFrameParser(limits, true);

function closeCodeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof WsProtocolError ? e.closeCode : -1;
  }
  return undefined;
}

/** A masked frame with FIN cleared. */
function fragment(opcode: number, payload: Buffer): Buffer {
  const f = encodeFrame(opcode, payload, true);
  f[0] = f[0]! & 0x7f;
  return f;
}

describe('WsFrameParser (RFC 6455 §5)', () => {
  it('round-trips masked text of each length encoding (7-bit, 16-bit, 64-bit)', () => {
    const p = new WsFrameParser({ maxFrameBytes: 100_000, maxMessageBytes: 100_000 }, true);
    for (const n of [0, 125, 126, 65535, 65536]) {
      const data = Buffer.alloc(n, 'a');
      const evs = p.push(encodeFrame(OPCODE.text, data, true));
      expect(evs).toEqual([{ kind: 'message', binary: false, data }]);
    }
  });

  it('assembles a frame delivered one byte at a time, and two frames in one chunk', () => {
    const p = server();
    const frame = encodeFrame(OPCODE.binary, Buffer.from('hello'), true);
    const out = [];
    for (const b of frame) out.push(...p.push(Buffer.from([b])));
    expect(out).toEqual([{ kind: 'message', binary: true, data: Buffer.from('hello') }]);
    const two = Buffer.concat([encodeFrame(OPCODE.text, Buffer.from('a'), true), encodeFrame(OPCODE.text, Buffer.from('b'), true)]);
    expect(p.push(two).map((e) => (e.kind === 'message' ? e.data.toString() : e.kind))).toEqual(['a', 'b']);
  });

  it('reassembles fragments with a control frame between them (§5.4)', () => {
    const p = server();
    const evs = p.push(Buffer.concat([fragment(OPCODE.text, Buffer.from('IN')), encodeFrame(OPCODE.ping, Buffer.from('x'), true), encodeFrame(OPCODE.continuation, Buffer.from('FO'), true)]));
    expect(evs).toEqual([
      { kind: 'ping', data: Buffer.from('x') },
      { kind: 'message', binary: false, data: Buffer.from('INFO') },
    ]);
  });

  it('refuses unmasked client frames and masked server frames (§5.1) with 1002', () => {
    expect(closeCodeOf(() => server().push(encodeFrame(OPCODE.text, Buffer.from('x'), false)))).toBe(CLOSE_CODE.protocolError);
    expect(closeCodeOf(() => new WsFrameParser(limits, false).push(encodeFrame(OPCODE.text, Buffer.from('x'), true)))).toBe(CLOSE_CODE.protocolError);
  });

  it('refuses RSV bits, reserved opcodes, long or fragmented control frames, and stray continuations with 1002', () => {
    const rsv = encodeFrame(OPCODE.text, Buffer.from('x'), true);
    rsv[0] = rsv[0]! | 0x40;
    expect(closeCodeOf(() => server().push(rsv))).toBe(1002);
    expect(closeCodeOf(() => server().push(encodeFrame(0x3, Buffer.from('x'), true)))).toBe(1002);
    expect(closeCodeOf(() => server().push(encodeFrame(OPCODE.ping, Buffer.alloc(126), true)))).toBe(1002);
    expect(closeCodeOf(() => server().push(fragment(OPCODE.ping, Buffer.from('x'))))).toBe(1002);
    expect(closeCodeOf(() => server().push(encodeFrame(OPCODE.continuation, Buffer.from('x'), true)))).toBe(1002);
    expect(closeCodeOf(() => server().push(Buffer.concat([fragment(OPCODE.text, Buffer.from('a')), encodeFrame(OPCODE.text, Buffer.from('b'), true)])))).toBe(1002);
  });

  it('refuses a frame over maxFrameBytes from its header alone, and a message over maxMessageBytes (1009)', () => {
    const big = encodeFrame(OPCODE.text, Buffer.alloc(1001), true);
    expect(closeCodeOf(() => server().push(big.subarray(0, 4)))).toBe(CLOSE_CODE.tooBig);
    const p = server();
    p.push(fragment(OPCODE.text, Buffer.alloc(1000, 'a')));
    p.push(fragment(OPCODE.continuation, Buffer.alloc(1000, 'a')));
    expect(p.bufferedBytes).toBe(2000);
    expect(closeCodeOf(() => p.push(encodeFrame(OPCODE.continuation, Buffer.alloc(1, 'a'), true)))).toBe(CLOSE_CODE.tooBig);
    // A 64-bit length with high bits set.
    const huge = Buffer.from([0x81, 0xff, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(closeCodeOf(() => server().push(huge))).toBe(CLOSE_CODE.tooBig);
  });

  it('refuses a text message that is not UTF-8 with 1007, binary is not checked', () => {
    expect(closeCodeOf(() => server().push(encodeFrame(OPCODE.text, Buffer.from([0xc3, 0x28]), true)))).toBe(CLOSE_CODE.invalidPayload);
    expect(server().push(encodeFrame(OPCODE.binary, Buffer.from([0xc3, 0x28]), true))).toHaveLength(1);
  });

  it('reads close frames: empty, code + reason; refuses a one-byte body and invalid codes', () => {
    expect(server().push(encodeFrame(OPCODE.close, Buffer.alloc(0), true))).toEqual([{ kind: 'close', code: undefined, reason: '' }]);
    expect(server().push(Buffer.from(encodeClose(1000, 'bye', true)))).toEqual([{ kind: 'close', code: 1000, reason: 'bye' }]);
    expect(closeCodeOf(() => server().push(encodeFrame(OPCODE.close, Buffer.from([3]), true)))).toBe(1002);
    expect(closeCodeOf(() => server().push(encodeClose(1005, '', true)))).toBe(1002);
    expect([999, 1004, 1005, 1006, 1015, 5000].some(isValidCloseCode)).toBe(false);
    expect([1000, 1001, 1009, 1011, 3000, 4999].every(isValidCloseCode)).toBe(true);
  });

  it('stays failed after an error', () => {
    const p = server();
    expect(closeCodeOf(() => p.push(encodeFrame(0x3, Buffer.from('x'), true)))).toBe(1002);
    expect(closeCodeOf(() => p.push(encodeFrame(OPCODE.text, Buffer.from('x'), true)))).toBe(1002);
  });
});
