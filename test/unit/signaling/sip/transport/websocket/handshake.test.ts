import { describe, expect, it } from 'vitest';
import { answerUpgrade, cannotBeHttp, parseUpgradeHead, websocketAccept, HandshakeError } from '../../../../../../signaling/sip/transport/websocket/handshake.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
function head(extra: Record<string, string | undefined> = {}, line = 'GET /?access_token=tok HTTP/1.1'): Buffer {
  const h: Record<string, string | undefined> = {
    Host: '127.0.1.1:5066',
    Upgrade: 'websocket',
    Connection: 'keep-alive, Upgrade',
    'Sec-WebSocket-Key': KEY,
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Protocol': 'sip',
    ...extra,
  };
  const lines = Object.entries(h).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}`);
  return Buffer.from([line, ...lines, '', ''].join('\r\n'));
}

describe('WebSocket upgrade for SIP (RFC 6455 §4.2, RFC 7118 §4)', () => {
  it('computes Sec-WebSocket-Accept as in RFC 6455 §1.3', () => {
    expect(websocketAccept(KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('accepts a browser upgrade, answers subprotocol sip and takes the access_token from the query', () => {
    const a = answerUpgrade(parseUpgradeHead(head()));
    expect(a.ok).toBe(true);
    if (!a.ok) return;
    expect(a.response).toContain('HTTP/1.1 101 Switching Protocols\r\n');
    expect(a.response).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n');
    expect(a.response).toContain('Sec-WebSocket-Protocol: sip\r\n');
    expect(a.token).toBe('tok');
    const several = answerUpgrade(parseUpgradeHead(head({ 'Sec-WebSocket-Protocol': 'chat, SIP' }, 'GET / HTTP/1.1')));
    expect(several.ok && several.token).toBe(undefined);
  });

  it.each([
    [{ 'Sec-WebSocket-Protocol': undefined }, 400, 'sip'],
    [{ 'Sec-WebSocket-Protocol': 'chat' }, 400, 'sip'],
    [{ Upgrade: undefined }, 426, 'Upgrade'],
    [{ Connection: 'keep-alive' }, 400, 'Connection'],
    [{ 'Sec-WebSocket-Version': '8' }, 426, 'Version'],
    [{ 'Sec-WebSocket-Key': 'short' }, 400, 'Key'],
    [{ Host: undefined }, 400, 'Host'],
  ])('refuses %o with %i and a reason naming what is wrong', (extra, status, word) => {
    const a = answerUpgrade(parseUpgradeHead(head(extra)));
    expect(a.ok).toBe(false);
    if (a.ok) return;
    expect(a.status).toBe(status);
    expect(a.reason).toContain(word);
  });

  it('refuses other methods, bad request lines, HTTP/1.0 and an empty access_token', () => {
    const post = answerUpgrade(parseUpgradeHead(head({}, 'POST / HTTP/1.1')));
    expect(!post.ok && post.status).toBe(405);
    expect(() => parseUpgradeHead(Buffer.from('garbage\r\n\r\n'))).toThrow(HandshakeError);
    expect(() => parseUpgradeHead(head({}, 'GET / HTTP/1.0'))).toThrow(/HTTP\/1.1/);
    expect(() => parseUpgradeHead(Buffer.from('GET / HTTP/1.1\r\nno colon here\r\n\r\n'))).toThrow(/header/);
    const empty = answerUpgrade(parseUpgradeHead(head({}, 'GET /?access_token= HTTP/1.1')));
    expect(!empty.ok && empty.status).toBe(400);
  });
});

describe('cannotBeHttp: garbage before the upgrade is refused on sight', () => {
  it('accepts any prefix of a request line and refuses what cannot start one', () => {
    for (const ok of ['', 'G', 'GET', 'GET ', 'GET / HTTP/1.1\r\n', 'OPTIONS * HTTP/1.1']) expect(cannotBeHttp(Buffer.from(ok))).toBe(false);
    for (const bad of [' GET', 'get /', 'GET\r\n', 'HELLO!', 'AAAAAAAAAAAAAAAAA', '\x16\x03\x01']) expect(cannotBeHttp(Buffer.from(bad, 'latin1'))).toBe(true);
  });
});
