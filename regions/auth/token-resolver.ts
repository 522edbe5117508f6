/**
 * Access tokens against the store: the pure checks of access-token.ts plus
 * what only the store knows. In order, each with its own refusal:
 *
 *  1. the token reads (size, shape, HS256, `cty`, `iss` SK…, `sub` AC…);
 *  2. the key `iss` exists (a deleted key reads as unknown), was created with
 *     token support (its secret sealed at rest) and its sealed secret opens
 *     under this platform's secrets key;
 *  3. signature, times (exp, nbf, iat, ≤ 24 h), identity, voice grant;
 *  4. the account `sub` exists, and the key is its own or its parent's: a
 *     parent acts on its subaccounts in the API, so its key may mint tokens for
 *     them (as the 2010-04-01 platform lets a parent's key act on subaccounts);
 *     a subaccount's key never mints for its parent or a sibling;
 *  5. the account is active: closed → refused as revoked credentials;
 *     suspended, or a subaccount of a suspended or closed parent → not active;
 *  6. the outgoing grant's application is an application of `sub` itself.
 *
 * Store reads go through the caller's Redis client (its command timeout
 * bounds them); a store failure is thrown, never turned into a refusal.
 */
import type { Redis } from 'ioredis';
import { apiKeyRecords } from '../store/api-keys.js';
import type { ApplicationRecord } from '../store/applications.js';
import { keys } from '../store/keys.js';
import { readJson } from '../store/records.js';
import type { AccountRecord } from '../store/schema.js';
import { isSid } from '../store/sids.js';
import { decodeAccessToken, verifyDecodedAccessToken, type AccessTokenClaims } from './access-token.js';
import type { SecretBox } from './secret-box.js';
import { refuse, type TokenRefusal } from './token-refusal.js';

export interface AccessTokenResolverOptions {
  redis: Redis;
  keyPrefix: string;
  /** The platform secrets key; without it no token verifies (`tokens-unavailable`). */
  secrets: SecretBox | undefined;
  /** Now in ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Tolerated clock difference, seconds. Default 30. */
  leewaySeconds?: number;
}

export interface ResolvedAccessToken {
  ok: true;
  claims: AccessTokenClaims;
  /** The account `sub`, active. */
  account: AccountRecord;
  /** The account that owns the signing key: `sub` itself or its parent. */
  keyAccountSid: string;
  /** The outgoing grant's application (an application of `sub`), when the token has one. */
  application?: ApplicationRecord;
}

export class AccessTokenResolver {
  private readonly k;
  private readonly apiKeys;

  constructor(private readonly opts: AccessTokenResolverOptions) {
    this.k = keys(opts.keyPrefix);
    this.apiKeys = apiKeyRecords(opts.redis, opts.keyPrefix);
  }

  async resolve(token: string): Promise<ResolvedAccessToken | TokenRefusal> {
    const decoded = decodeAccessToken(token);
    if (!decoded.ok) return decoded;
    const { secrets } = this.opts;
    if (secrets === undefined) return refuse('tokens-unavailable', 'the platform has no secrets key configured (secretsKey): access tokens cannot be verified');

    const key = await this.apiKeys.get(decoded.keySid);
    if (key === undefined) return refuse('unknown-key', `API key ${decoded.keySid} does not exist (unknown or deleted)`);
    if (key.sealedSecret === undefined) {
      return refuse('key-without-token-secret', `API key ${key.sid} was created before token support; create a new key to sign access tokens`);
    }
    const opened = secrets.open(key.sealedSecret, key.sid);
    if (!opened.ok) {
      const why = opened.reason === 'other-key' ? 'sealed under another platform secrets key (was secretsKey changed?)' : 'its stored secret is damaged';
      return refuse('key-unreadable', `API key ${key.sid} cannot verify tokens: ${why}; create a new key`);
    }
    const verified = verifyDecodedAccessToken(decoded, opened.plaintext, {
      nowMs: (this.opts.now ?? Date.now)(),
      ...(this.opts.leewaySeconds === undefined ? {} : { leewaySeconds: this.opts.leewaySeconds }),
    });
    if (!verified.ok) return verified;
    const { claims } = verified;

    const account = await this.account(claims.accountSid);
    if (account === undefined) return refuse('unknown-account', `account ${claims.accountSid} does not exist`);
    if (key.accountSid !== account.sid && key.accountSid !== account.ownerAccountSid) {
      return refuse('key-of-another-account', `API key ${key.sid} belongs neither to account ${account.sid} nor to its parent`);
    }
    if (account.status === 'closed') return refuse('account-closed', `account ${account.sid} is closed`);
    if (account.status !== 'active') return refuse('account-not-active', `account ${account.sid} is ${account.status}`);
    if (account.ownerAccountSid !== undefined) {
      const parent = await this.account(account.ownerAccountSid);
      if (parent === undefined || parent.status !== 'active') {
        return refuse('account-not-active', `account ${account.sid} is a subaccount of ${account.ownerAccountSid}, which is ${parent?.status ?? 'gone'}`);
      }
    }

    const out = claims.voice.outgoing;
    if (out === undefined) return { ok: true, claims, account, keyAccountSid: key.accountSid };
    const application = await readJson<ApplicationRecord>(this.opts.redis, this.k.application(out.applicationSid));
    if (application === undefined || application.accountSid !== account.sid) {
      return refuse('application-not-in-account', `application ${out.applicationSid} (grants.voice.outgoing.application_sid) is not an application of account ${account.sid}`);
    }
    return { ok: true, claims, account, keyAccountSid: key.accountSid, application };
  }

  private async account(sid: string): Promise<AccountRecord | undefined> {
    // SIDs reach here checked (decodeAccessToken, the key record); checked again before a key name is built.
    return isSid(sid, 'AC') ? readJson<AccountRecord>(this.opts.redis, this.k.account(sid)) : undefined;
  }
}
