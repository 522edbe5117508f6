import { describe, expect, it } from 'vitest';
import { checkSignalingUrl, defaultSignalingUrl, parseSoftphoneConfig, signalingUrlWithToken, sipDomain } from '../../../../control-plane/client/signaling-url.js';

describe('checkSignalingUrl', () => {
  it.each([
    ['ws://127.0.1.1:5066', 'ws://127.0.1.1:5066/'],
    [' wss://sip.example.com:443/ws ', 'wss://sip.example.com/ws'],
    ['ws://[::1]:5066/', 'ws://[::1]:5066/'],
  ])('%s → %s', (text, url) => {
    expect(checkSignalingUrl(text)).toEqual({ ok: true, url });
  });
  it.each([
    ['', 'no signaling URL'],
    ['ws://' + 'a'.repeat(2050), 'longer than'],
    ['127.0.1.1:5066', 'must start with ws://'],
    ['http://127.0.1.1:5066', 'must start with ws:// or wss://, not http://127.0…'],
    ['ws://', 'does not parse'],
    ['ws://u:p@127.0.1.1:5066', 'user or password'],
    ['ws://127.0.1.1:5066/#x', 'fragment'],
  ])('refuses %j: %s', (text, reason) => {
    const r = checkSignalingUrl(text);
    expect(!r.ok && r.reason).toContain(reason);
  });
});

describe('signalingUrlWithToken / sipDomain', () => {
  it('puts the token in access_token, escaped, replacing one already there and keeping other parameters', () => {
    expect(signalingUrlWithToken('ws://127.0.1.1:5066/', 'a.b+c/d=')).toBe('ws://127.0.1.1:5066/?access_token=a.b%2Bc%2Fd%3D');
    const u = new URL(signalingUrlWithToken('wss://h/ws?x=1&access_token=old', 'new'));
    expect([...u.searchParams]).toEqual([
      ['x', '1'],
      ['access_token', 'new'],
    ]);
  });
  it('registers in the URL host', () => {
    expect(sipDomain('ws://127.0.2.1:5066/')).toBe('127.0.2.1');
    expect(sipDomain('wss://SIP.Example.com/ws')).toBe('sip.example.com');
    expect(sipDomain('ws://[::1]:5066/')).toBe('[::1]');
  });
});

describe('parseSoftphoneConfig', () => {
  const good = { defaultRegion: 'eu-west', regions: [{ id: 'us-east', websocketUrl: 'ws://127.0.1.1:5066/' }, { id: 'eu-west', websocketUrl: 'ws://127.0.2.1:5066/' }] };
  it('reads the control plane config and picks the default region, else the first', () => {
    const c = parseSoftphoneConfig(good);
    expect(c).toEqual(good);
    expect(defaultSignalingUrl(c)).toBe('ws://127.0.2.1:5066/');
    expect(defaultSignalingUrl({ ...c, defaultRegion: 'mars' })).toBe('ws://127.0.1.1:5066/');
    expect(defaultSignalingUrl({ defaultRegion: 'x', regions: [] })).toBeUndefined();
  });
  it.each([
    [null, 'not an object'],
    [{ regions: [] }, 'defaultRegion'],
    [{ defaultRegion: 'a', regions: {} }, 'regions is not a list'],
    [{ defaultRegion: 'a', regions: Array.from({ length: 65 }, () => good.regions[0]) }, 'at most 64'],
    [{ defaultRegion: 'a', regions: [{ id: 'a' }] }, 'regions[0] needs id and websocketUrl'],
    [{ defaultRegion: 'a', regions: [{ id: 'a', websocketUrl: 'http://x' }] }, 'regions[0].websocketUrl: signaling URL must start with ws://'],
  ])('refuses %j: %s', (raw, reason) => {
    expect(() => parseSoftphoneConfig(raw)).toThrow(reason);
  });
});
