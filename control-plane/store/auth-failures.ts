/**
 * Failed-authentication throttle, in Redis so every API server shares it.
 *
 * Two fixed-window counters of failures: per source address and per
 * claimed principal (account or API key SID). An address over its limit is
 * refused before its credentials are checked. A principal over its limit
 * refuses only addresses that have themselves failed in the window: the
 * real owner, authenticating correctly from an address with no failures, is
 * never locked out by someone else's guessing.
 *
 * Failures are counted after the check (INCR is atomic), so a burst of
 * concurrent wrong guesses is cut at the limit too: the failure that passes
 * the limit is answered 429, not 401.
 */
import { isIP } from 'node:net';
import type { Redis } from 'ioredis';
import { isSid } from '../../regions/store/sids.js';
import { keys } from '../../regions/store/keys.js';

export interface AuthThrottleConfig {
  /** Failures per source address in one window before the address is refused. Default 20. */
  failuresPerAddress: number;
  /** Failures per account (or API key) SID in one window before failing addresses are refused for it. Default 100. */
  failuresPerPrincipal: number;
  /** Window length, seconds. Default 60. */
  windowSeconds: number;
}

export const DEFAULT_AUTH_THROTTLE: AuthThrottleConfig = { failuresPerAddress: 20, failuresPerPrincipal: 100, windowSeconds: 60 };

export type ThrottleDecision = { refused: false } | { refused: true; retryAfterSeconds: number; scope: 'address' | 'principal' };

/** INCR that starts the window on the first failure; returns [count, ms left in the window]. */
const COUNT_FAILURE = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
`;

/** A store-key-safe form of the source address (it is one, from the socket; checked all the same). */
function addressKeyPart(address: string | undefined): string {
  return address !== undefined && isIP(address) !== 0 ? address : 'unknown';
}

/** Only a well-formed SID names a principal counter; anything else is counted by address alone. */
function principalKeyPart(user: string): string | undefined {
  return isSid(user, 'AC') || isSid(user, 'SK') ? user : undefined;
}

export class AuthThrottle {
  private readonly k;
  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly config: AuthThrottleConfig = DEFAULT_AUTH_THROTTLE,
  ) {
    this.k = keys(prefix);
  }

  /** Before the credentials are checked: is this address, or this address for this principal, refused? */
  async before(address: string | undefined, user: string): Promise<ThrottleDecision> {
    // Every authenticated request passes here: one MGET; the window's remaining time is read only to refuse.
    const principal = principalKeyPart(user);
    const addrKey = this.k.authFailures('address', addressKeyPart(address));
    const pKey = principal === undefined ? undefined : this.k.authFailures('principal', principal);
    const [addrRaw, principalRaw] = await this.redis.mget(addrKey, ...(pKey === undefined ? [] : [pKey]));
    const addrFailures = Number(addrRaw ?? 0);
    if (addrFailures >= this.config.failuresPerAddress) return this.refuse('address', await this.redis.pttl(addrKey));
    if (pKey !== undefined && addrFailures > 0 && Number(principalRaw ?? 0) >= this.config.failuresPerPrincipal) {
      return this.refuse('principal', await this.redis.pttl(pKey));
    }
    return { refused: false };
  }

  /** After a failed check: count it; refused when this failure passed a limit. */
  async failed(address: string | undefined, user: string): Promise<ThrottleDecision> {
    const windowMs = this.config.windowSeconds * 1000;
    const [addrCount, addrTtl] = (await this.redis.eval(COUNT_FAILURE, 1, this.k.authFailures('address', addressKeyPart(address)), windowMs)) as [number, number];
    const principal = principalKeyPart(user);
    let principalOver: [number, number] | undefined;
    if (principal !== undefined) {
      const [n, ttl] = (await this.redis.eval(COUNT_FAILURE, 1, this.k.authFailures('principal', principal), windowMs)) as [number, number];
      if (n > this.config.failuresPerPrincipal) principalOver = [n, ttl];
    }
    if (addrCount > this.config.failuresPerAddress) return this.refuse('address', addrTtl);
    if (principalOver !== undefined) return this.refuse('principal', principalOver[1]);
    return { refused: false };
  }

  private refuse(scope: 'address' | 'principal', ttlMs: number): ThrottleDecision {
    const ms = Number.isFinite(ttlMs) && ttlMs > 0 ? ttlMs : this.config.windowSeconds * 1000;
    return { refused: true, scope, retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) };
  }
}
