/**
 * Usage of recording branches: each branch counts once as `media-branches`
 * (unit `branches`, region = the edge that forked it) for the account owning
 * the dialed number, written when the central service confirmed the branch —
 * on upload confirmation when a local copy was kept, else on the live copy's
 * STORED ack. The account is looked up at the edge (as inbound accounting
 * does) and kept in the upload manifest, so an edge restart does not lose it.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../regions/core/log.js';
import { findNumber } from '../../regions/store/numbers.js';
import { recordUsage } from '../../regions/store/usage.js';

const ACCOUNT_LOOKUP_TIMEOUT_MS = 1000;

export class BranchUsage {
  /** `usage` undefined: no usage written, no account looked up. */
  constructor(
    private readonly region: string,
    private readonly log: Logger,
    private readonly usage: { redis: Redis; keyPrefix: string } | undefined,
  ) {}

  /** Count one branch for the account; a failed write rejects (the uploader then keeps the entry queued). */
  async record(accountSid: string | undefined, callSid: string, branchId: string): Promise<void> {
    const u = this.usage;
    if (u === undefined) return;
    if (accountSid === undefined) {
      this.log.debug('recording branch has no known account; no usage written', { sid: callSid, branchId });
      return;
    }
    await recordUsage(u.redis, u.keyPrefix, { accountSid, category: 'media-branches', region: this.region, quantity: 1, unit: 'branches', at: Date.now() });
  }

  /** The account owning the dialed number (as inbound accounting finds it); undefined when unknown or Redis is slow. */
  async accountOf(dialed: string): Promise<string | undefined> {
    const u = this.usage;
    if (u === undefined) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ACCOUNT_LOOKUP_TIMEOUT_MS);
    });
    try {
      return await Promise.race([accountOfNumber(u.redis, u.keyPrefix, dialed), timeout]);
    } catch (e) {
      this.log.debug('account of the dialed number not found', { dialed, error: e as Error });
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The account owning an IncomingPhoneNumber, by the dialed number with or without its leading +. */
export async function accountOfNumber(redis: Redis, prefix: string, dialed: string): Promise<string | undefined> {
  return (await findNumber(redis, prefix, dialed))?.accountSid;
}
