import { randomBytes } from 'node:crypto';

/** One SID generator for the platform; it lives in regions/store because the call side creates resources too. */
export { isSid, newSid, type SidPrefix } from '../../regions/store/sids.js';

/** Auth tokens are 32 hex digits. */
export function newAuthToken(): string {
  return randomBytes(16).toString('hex');
}

/** API key secrets: 32 url-safe characters, returned once and stored hashed. */
export function newKeySecret(): string {
  return randomBytes(24).toString('base64url');
}
