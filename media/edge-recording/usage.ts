/**
 * Usage of recording branches: each branch counts once as `media-branches`
 * (unit `branches`, region = the edge that forked it) for the account owning
 * the dialed number, written when the central service confirmed the branch —
 * on upload confirmation when a local copy was kept, else on the live copy's
 * STORED ack. The account is looked up at the edge (as inbound accounting
 * does) and kept in the upload manifest, so an edge restart does not lose it.
 * Its price: each started minute of the branch's audio (from the WAV's size:
 * 8 kHz mono 16-bit, as media/central writes it) at the account's
 * `media-branch` rate (regions/pricing/store.ts); unpriced when the decks
 * price nothing for it.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../regions/core/log.js';
import { findNumber } from '../../regions/store/numbers.js';
import { recordUsage } from '../../regions/store/usage.js';
import { PriceDecks, priceAtRate } from '../../regions/pricing/store.js';
import { WAV_HEADER_BYTES } from '../central/wav.js';

/** Bytes per second of the branches' WAV: 8000 samples × 2 bytes, mono. */
const WAV_BYTES_PER_SECOND = 16_000;

const ACCOUNT_LOOKUP_TIMEOUT_MS = 1000;

export class BranchUsage {
  /** `usage` undefined: no usage written, no account looked up. */
  constructor(
    private readonly region: string,
    private readonly log: Logger,
    private readonly usage: { redis: Redis; keyPrefix: string } | undefined,
  ) {}

  private decks: PriceDecks | undefined;

  /** Count one branch for the account, priced by its length (`wavBytes`); a failed write rejects (the uploader then keeps the entry queued). */
  async record(accountSid: string | undefined, callSid: string, branchId: string, wavBytes?: number): Promise<void> {
    const u = this.usage;
    if (u === undefined) return;
    if (accountSid === undefined) {
      this.log.debug('recording branch has no known account; no usage written', { sid: callSid, branchId });
      return;
    }
    const at = Date.now();
    let priceMicros: number | undefined;
    if (wavBytes !== undefined) {
      this.decks ??= new PriceDecks(u.redis, u.keyPrefix);
      const durationS = Math.round(Math.max(0, wavBytes - WAV_HEADER_BYTES) / WAV_BYTES_PER_SECOND);
      const rate = await this.decks.itemRate(accountSid, 'media-branch', at - durationS * 1000).catch((e: unknown) => {
        this.log.debug('media branch not priced', { sid: callSid, branchId, error: e as Error });
        return undefined;
      });
      if (rate !== undefined) priceMicros = priceAtRate(rate, durationS);
    }
    await recordUsage(u.redis, u.keyPrefix, { accountSid, category: 'media-branches', region: this.region, quantity: 1, unit: 'branches', at, ...(priceMicros === undefined ? {} : { priceMicros }) });
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
