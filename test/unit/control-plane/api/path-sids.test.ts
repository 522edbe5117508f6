import { describe, expect, it } from 'vitest';
import { mayViewCredentials } from '../../../../control-plane/api/access.js';
import { badPathSid } from '../../../../control-plane/api/middleware/path-sids.js';
import type { AccountRecord } from '../../../../regions/store/schema.js';

const sid = (p: string, c = 'a') => p + c.repeat(32);
const base = '/2010-04-01/Accounts';

describe('badPathSid', () => {
  it('passes on a collection named like an Object.prototype member (the router answers 404), without throwing', () => {
    const ac = `AC${'0'.repeat(32)}`;
    for (const name of ['constructor', '__proto__', 'toString']) {
      expect(badPathSid(`/2010-04-01/Accounts/${ac}/${name}/x`)).toBeUndefined();
      expect(badPathSid(`/2010-04-01/${name}/x`)).toBeUndefined();
    }
  });
  it('accepts well-formed SIDs of the right kind in every position', () => {
    expect(badPathSid(`${base}`)).toBeUndefined();
    expect(badPathSid(`${base}/${sid('AC')}`)).toBeUndefined();
    expect(badPathSid(`${base}/${sid('AC')}/Calls/${sid('CA')}/Recordings`)).toBeUndefined();
    expect(badPathSid(`${base}/${sid('AC')}/Queues/${sid('QU')}/Members/Front`)).toBeUndefined();
    expect(badPathSid(`${base}/${sid('AC')}/Queues/${sid('QU')}/Members/${sid('CA')}`)).toBeUndefined();
    expect(badPathSid(`${base}/${sid('AC')}/Recordings/${sid('RE')}.wav`)).toBeUndefined();
    expect(badPathSid(`${base}/${sid('AC')}/Usage/Records/Daily`)).toBeUndefined();
    expect(badPathSid(`${base}/${sid('AC')}/Trackers/${sid('TK')}/Measurements`)).toBeUndefined();
  });
  it('names the first segment that is not a SID of its kind', () => {
    expect(badPathSid(`${base}/${sid('AC')}:usage/Calls`)).toBe(`${sid('AC')}:usage`);
    expect(badPathSid(`${base}/${sid('AC')}/Calls/${sid('QU')}`)).toBe(sid('QU'));
    expect(badPathSid(`${base}/${sid('AC')}/Trackers/${sid('CA')}/Measurements`)).toBe(sid('CA'));
    expect(badPathSid(`${base}/${sid('AC')}/Queues/${sid('QU')}:members`)).toBe(`${sid('QU')}:members`);
    expect(badPathSid(`${base}/${sid('AC', 'A')}`)).toBe(sid('AC', 'A'));
    expect(badPathSid(`${base}/${sid('AC')}/Queues/${sid('QU')}/Members/Back`)).toBe('Back');
    // Only the last segment of Recordings may carry a media suffix.
    expect(badPathSid(`${base}/${sid('AC')}/Recordings/${sid('RE')}.wav/x`)).toBe(`${sid('RE')}.wav`);
  });
});

describe('mayViewCredentials', () => {
  const account = (s: string, owner?: string): AccountRecord => ({
    sid: s,
    authToken: 'f'.repeat(32),
    friendlyName: '',
    status: 'active',
    homeRegion: 'us-east',
    dateCreated: '',
    dateUpdated: '',
    ...(owner === undefined ? {} : { ownerAccountSid: owner }),
  });
  const parent = account(sid('AC', 'b'));
  const child = account(sid('AC', 'c'), parent.sid);
  const developer = account(sid('AC', 'd'));
  it('the account itself and its parent, with the auth token', () => {
    expect(mayViewCredentials({ account: parent }, parent)).toBe(true);
    expect(mayViewCredentials({ account: parent }, child)).toBe(true);
    expect(mayViewCredentials({ account: child }, child)).toBe(true);
  });
  it('never a child for its parent, another account, or any API key', () => {
    expect(mayViewCredentials({ account: child }, parent)).toBe(false);
    expect(mayViewCredentials({ account: developer }, child)).toBe(false);
    expect(mayViewCredentials({ account: parent, keySid: sid('SK') }, parent)).toBe(false);
    expect(mayViewCredentials({ account: parent, keySid: sid('SK') }, child)).toBe(false);
  });
});
