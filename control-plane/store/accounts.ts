/**
 * Accounts and subaccounts (AccountRecord of regions/store/schema.ts).
 * Subaccounts are one level deep, as in the 2010-04-01 API: a subaccount
 * cannot own subaccounts.
 */
import type { Redis } from 'ioredis';
import { keys } from '../../regions/store/keys.js';
import { pageIndex, readJson, readSidsMany, type PageQuery, type PageResult } from '../../regions/store/records.js';
import { apiDate, type AccountRecord, type AccountStatus } from '../../regions/store/schema.js';
import { isSid, newAuthToken, newSid } from './ids.js';

export interface NewAccount {
  friendlyName: string;
  homeRegion: string;
  /** Fixed SID / token (tests, imports); random when absent. */
  sid?: string;
  authToken?: string;
}

export class AccountStore {
  private readonly k;
  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.k = keys(prefix);
  }

  async get(sid: string): Promise<AccountRecord | undefined> {
    // A SID of another shape (`AC…:usage`) would name another key: it reads as absent.
    if (!isSid(sid, 'AC')) return undefined;
    return readJson<AccountRecord>(this.redis, this.k.account(sid));
  }

  async create(input: NewAccount, ownerAccountSid?: string): Promise<AccountRecord> {
    const at = this.now();
    const record: AccountRecord = {
      sid: input.sid ?? newSid('AC'),
      authToken: input.authToken ?? newAuthToken(),
      friendlyName: input.friendlyName,
      status: 'active',
      homeRegion: input.homeRegion,
      dateCreated: apiDate(at),
      dateUpdated: apiDate(at),
      ...(ownerAccountSid === undefined ? {} : { ownerAccountSid }),
    };
    const tx = this.redis.multi().set(this.k.account(record.sid), JSON.stringify(record));
    if (ownerAccountSid !== undefined) tx.zadd(this.k.subaccounts(ownerAccountSid), at.getTime(), record.sid);
    await tx.exec();
    return record;
  }

  async update(sid: string, patch: { friendlyName?: string; status?: AccountStatus }): Promise<AccountRecord | undefined> {
    const current = await this.get(sid);
    if (current === undefined) return undefined;
    const next: AccountRecord = {
      ...current,
      ...(patch.friendlyName === undefined ? {} : { friendlyName: patch.friendlyName }),
      ...(patch.status === undefined ? {} : { status: patch.status }),
      dateUpdated: apiDate(this.now()),
    };
    await this.redis.set(this.k.account(sid), JSON.stringify(next));
    return next;
  }

  async subaccountSids(ownerSid: string): Promise<string[]> {
    if (!isSid(ownerSid, 'AC')) return [];
    return this.redis.zrevrange(this.k.subaccounts(ownerSid), 0, -1);
  }

  listSubaccounts(ownerSid: string, q: PageQuery<AccountRecord>): Promise<PageResult<AccountRecord>> {
    return pageIndex(this.redis, this.k.subaccounts(ownerSid), (sids) => this.getMany(sids), q);
  }

  getMany(sids: string[]): Promise<(AccountRecord | undefined)[]> {
    return readSidsMany<AccountRecord>(this.redis, 'AC', sids, this.k.account);
  }
}

/** Creates a top-level account (no owner): the way in for the first tenant. */
export function bootstrapAccount(redis: Redis, prefix: string, input: NewAccount, now?: () => Date): Promise<AccountRecord> {
  return new AccountStore(redis, prefix, now).create(input);
}

/**
 * The development account `make start` prints: created on first start only
 * (SET NX on a marker key), the same credentials on every later start.
 */
export async function ensureDevAccount(
  redis: Redis,
  prefix: string,
  homeRegion: string,
): Promise<{ account: AccountRecord; created: boolean }> {
  const marker = keys(prefix).devAccount();
  const store = new AccountStore(redis, prefix);
  const sid = newSid('AC');
  // SET NX: of two concurrent starters only one creates the account.
  if ((await redis.set(marker, sid, 'NX')) === null) {
    const existingSid = await redis.get(marker);
    // The winner writes the account right after the marker: give it a moment before assuming it is gone.
    for (let attempt = 0; attempt < 20 && existingSid !== null; attempt++) {
      const account = await store.get(existingSid);
      if (account !== undefined) return { account, created: false };
      await new Promise((r) => setTimeout(r, 25));
    }
    await redis.set(marker, sid); // the marker outlived its account: start over
  }
  const account = await store.create({ sid, friendlyName: 'Development account', homeRegion });
  return { account, created: true };
}
