import { asBranch, asCallId, asTag } from '../../../regions/core/ids.js';
import type { Branch, CallId, Tag } from '../../../regions/core/ids.js';
import { randomString } from '../../../regions/core/random-pool.js';

/**
 * Random identifiers for requests and dialogs, drawn from the process's pooled
 * random bytes (regions/core/random-pool.ts) so that one call does not cost one syscall.
 */

/** RFC 3261 §8.1.1.7: branches of RFC 3261 elements start with this magic cookie. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

function randomToken(bytes: number): string {
  return randomString(bytes, 'base64url');
}

/** Via branch: magic cookie + 96 random bits (unique across space and time, §8.1.1.7). base64url is token-safe. */
export function generateBranch(): Branch {
  return asBranch(BRANCH_MAGIC_COOKIE + randomToken(12));
}

/** From / To tag: 64 random bits (§19.3 asks for at least 32). */
export function generateTag(): Tag {
  return asTag(randomToken(8));
}

/** Call-ID `random@host` with 120 random bits (§8.1.1.4). */
export function generateCallId(host: string): CallId {
  return asCallId(`${randomToken(15)}@${host}`);
}
