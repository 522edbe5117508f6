/**
 * Request signing in the dialect tenants' helper libraries validate
 * (X-Twilio-Signature): base64 HMAC-SHA1, keyed with the account's auth token,
 * over the full URL followed by each POST parameter's name and value, sorted
 * by name. GET requests sign the URL (with its query) alone.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type Params = Record<string, string | string[]>;

export function computeSignature(authToken: string, url: string, params: Params = {}): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const v = params[name]!;
    for (const one of Array.isArray(v) ? [...v].sort() : [v]) data += name + one;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

export function isValidSignature(authToken: string, signature: string, url: string, params: Params = {}): boolean {
  const want = Buffer.from(computeSignature(authToken, url, params));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}
