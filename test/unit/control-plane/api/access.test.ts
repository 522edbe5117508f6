import { describe, expect, it } from 'vitest';
import { decideAccess, verbOf } from '../../../../control-plane/api/access.js';
import type { AuthorizationRecord } from '../../../../control-plane/store/resources.js';
import type { AccountRecord } from '../../../../regions/store/schema.js';

const acct = (sid: string, extra: Partial<AccountRecord> = {}): AccountRecord => ({
  sid,
  authToken: 't',
  friendlyName: sid,
  status: 'active',
  homeRegion: 'us-east',
  dateCreated: '',
  dateUpdated: '',
  ...extra,
});
const parent = acct('ACparent');
const child = acct('ACchild', { ownerAccountSid: 'ACparent' });
const dev = acct('ACdev');
const grant: AuthorizationRecord = {
  sid: 'CN1',
  accountSid: 'ACparent',
  subaccountSid: 'ACchild',
  developerAccountSid: 'ACdev',
  applicationSid: 'AP1',
  permissions: { calls: ['read'] },
  dateCreated: '',
};
const ask = (q: Partial<Parameters<typeof decideAccess>[0]>) =>
  decideAccess({ principal: parent, target: child, authorization: undefined, segment: 'Calls', verb: 'read', ...q });

describe('decideAccess', () => {
  it('lets an account act on itself and its subaccounts', () => {
    expect(ask({ target: parent })).toBe('allow');
    expect(ask({})).toBe('allow');
  });
  it('hides parents, strangers and missing accounts as not-found', () => {
    expect(ask({ principal: child, target: parent })).toBe('not-found');
    expect(ask({ principal: dev })).toBe('not-found');
    expect(ask({ target: undefined })).toBe('not-found');
  });
  it('refuses work on an inactive subaccount, but lets the owner see and reactivate it', () => {
    const suspended = { ...child, status: 'suspended' as const };
    expect(ask({ target: suspended })).toBe('inactive');
    expect(ask({ target: suspended, segment: '', verb: 'write' })).toBe('allow');
  });
  it('holds a developer to the permission profile', () => {
    expect(ask({ principal: dev, authorization: grant })).toBe('allow');
    expect(ask({ principal: dev, authorization: grant, verb: 'write' })).toBe('forbidden');
    expect(ask({ principal: dev, authorization: grant, segment: 'Queues' })).toBe('forbidden');
    expect(ask({ principal: dev, authorization: grant, segment: 'Keys' })).toBe('forbidden');
    expect(ask({ principal: dev, authorization: grant, segment: 'constructor' })).toBe('forbidden');
    expect(ask({ principal: dev, authorization: { ...grant, developerAccountSid: 'ACother' } })).toBe('not-found');
    expect(ask({ principal: dev, authorization: grant, target: { ...child, status: 'suspended' } })).toBe('inactive');
  });
  it('trackers:read grants reading trackers only', () => {
    const trackersOnly = { ...grant, permissions: { trackers: ['read' as const] } };
    expect(ask({ principal: dev, authorization: trackersOnly, segment: 'Trackers' })).toBe('allow');
    expect(ask({ principal: dev, authorization: trackersOnly, segment: 'Trackers', verb: 'write' })).toBe('forbidden');
    for (const segment of ['Calls', 'IncomingPhoneNumbers', 'Usage', 'Recordings', '']) {
      expect(ask({ principal: dev, authorization: trackersOnly, segment })).toBe('forbidden');
    }
    // Without the permission, no trackers either.
    expect(ask({ principal: dev, authorization: grant, segment: 'Trackers' })).toBe('forbidden');
  });
  it('maps HTTP methods to verbs', () => {
    expect([verbOf('GET'), verbOf('HEAD'), verbOf('POST'), verbOf('PUT'), verbOf('DELETE')]).toEqual(['read', 'read', 'write', 'write', 'delete']);
  });
});
