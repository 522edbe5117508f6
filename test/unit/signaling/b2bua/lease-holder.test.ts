import { describe, expect, it } from 'vitest';
import { leaseHolderPid } from '../../../../signaling/b2bua/lease.js';

describe('leaseHolderPid', () => {
  it('reads the pid of a holder the lease wrote, and nothing else', () => {
    expect(leaseHolderPid('box:4242:0123abcd')).toBe(4242);
    expect(leaseHolderPid(null)).toBeUndefined();
    expect(leaseHolderPid('box:0:0123abcd')).toBeUndefined();
    expect(leaseHolderPid('box:12:xyz')).toBeUndefined();
    expect(leaseHolderPid('box:-1:0123abcd')).toBeUndefined();
    expect(leaseHolderPid('4242')).toBeUndefined();
  });
});
