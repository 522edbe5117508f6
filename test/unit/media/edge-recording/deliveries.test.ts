import { afterEach, describe, expect, it, vi } from 'vitest';
import { BranchDeliveries } from '../../../../media/edge-recording/deliveries.js';

const delivered = (callSid: string, branchId = 'caller') => ({ callSid, branchId, sha256: 'ab'.repeat(32), at: 1 });

afterEach(() => vi.useRealTimers());

describe('BranchDeliveries', () => {
  it('resolves a wait when the branch is confirmed, and at once for one confirmed before', async () => {
    const d = new BranchDeliveries();
    const waiting = d.whenDelivered('CA1', 'caller', 1000);
    d.confirm(delivered('CA1'));
    await expect(waiting).resolves.toMatchObject({ callSid: 'CA1', branchId: 'caller' });
    await expect(d.whenDelivered('CA1', 'caller', 1000)).resolves.toMatchObject({ callSid: 'CA1' });
  });

  it('rejects with UPSTREAM_TIMEOUT after the timeout, and only that waiter', async () => {
    vi.useFakeTimers();
    const d = new BranchDeliveries();
    const short = d.whenDelivered('CA2', 'caller', 100);
    const long = d.whenDelivered('CA2', 'caller', 10_000);
    const shortResult = short.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    expect(await shortResult).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    d.confirm(delivered('CA2'));
    await expect(long).resolves.toMatchObject({ callSid: 'CA2' });
  });

  it('refuses new waits once closing, and close() rejects current ones with CLOSED', async () => {
    const d = new BranchDeliveries();
    const pending = d.whenDelivered('CA3', 'caller', 10_000);
    d.refuseNew();
    await expect(d.whenDelivered('CA4', 'caller', 10_000)).rejects.toMatchObject({ code: 'CLOSED' });
    d.close();
    await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
    d.close();
  });

  it('remembers at most 1000 confirmations, oldest forgotten first', async () => {
    vi.useFakeTimers();
    const d = new BranchDeliveries();
    for (let i = 0; i <= 1000; i++) d.confirm(delivered(`CA${i}`));
    const first = d.whenDelivered('CA0', 'caller', 50).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(50);
    expect(await first).toMatchObject({ code: 'UPSTREAM_TIMEOUT' });
    await expect(d.whenDelivered('CA1000', 'caller', 50)).resolves.toMatchObject({ callSid: 'CA1000' });
  });
});
