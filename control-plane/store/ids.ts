import { randomBytes } from 'node:crypto';

/** A resource SID as the 2010-04-01 API shapes them: two-letter prefix + 32 hex digits. */
export function newSid(prefix: 'AC' | 'AP' | 'PN' | 'CA' | 'RE' | 'QU' | 'SK' | 'CN'): string {
  return prefix + randomBytes(16).toString('hex');
}

/** Auth tokens are 32 hex digits. */
export function newAuthToken(): string {
  return randomBytes(16).toString('hex');
}

/** API key secrets: 32 url-safe characters, returned once and stored hashed. */
export function newKeySecret(): string {
  return randomBytes(24).toString('base64url');
}

export function isSid(value: string, prefix: string): boolean {
  return value.length === 34 && value.startsWith(prefix) && /^[0-9a-f]{32}$/.test(value.slice(2));
}
