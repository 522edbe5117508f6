/**
 * Random identifiers without a syscall each: bytes come from a pooled buffer
 * of the OS's CSPRNG (crypto.randomBytes), refilled every 4 KiB. A call draws
 * about ten identifiers (tags, branches, a Call-ID, its CallSid); one
 * `randomBytes` each was a getrandom and a getpid per draw.
 */
import { randomBytes } from 'node:crypto';

const POOL_SIZE = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/** `bytes` random bytes (at most 256), encoded. */
export function randomString(bytes: number, encoding: 'hex' | 'base64url'): string {
  if (!Number.isInteger(bytes) || bytes <= 0 || bytes > 256) throw new RangeError('randomString: 1 to 256 bytes');
  if (offset + bytes > pool.length) {
    pool = randomBytes(POOL_SIZE);
    offset = 0;
  }
  const s = pool.toString(encoding, offset, offset + bytes);
  offset += bytes;
  return s;
}
