/**
 * Secrets at rest: AES-256-GCM under the platform's secrets key (configuration
 * `secretsKey` / SECRETS_KEY; `make start` generates one into run/secrets-key).
 * Used for what must be readable again later — today the API key secrets that
 * verify access tokens — where a hash would not do.
 *
 * Sealed form: `v1.<key id>.<iv>.<ciphertext>.<tag>` (base64url parts). The key
 * id (8 bytes of SHA-256 over a label and the key) tells "sealed under another
 * platform key" apart from "corrupt" without revealing the key. The caller's
 * `context` (e.g. the API key SID) is authenticated as associated data, so a
 * sealed value copied onto another record does not open.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { MeshError } from '../core/errors.js';

const VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12; // NIST SP 800-38D §8.2: 96-bit random IVs
const TAG_BYTES = 16;
/** Longest plaintext sealed (secrets are short; this bounds what a record may carry). */
export const MAX_SEALED_PLAINTEXT_BYTES = 1024;

export type OpenResult = { ok: true; plaintext: string } | { ok: false; reason: 'other-key' | 'corrupt' };

/**
 * The platform secrets key from its configured text: 32 bytes as 64 hex digits
 * or as base64 / base64url (43 or 44 characters). Throws CONFIG_INVALID naming
 * what is wrong (never the value).
 */
export function parseSecretsKey(text: string, name = 'secretsKey'): Buffer {
  const t = text.trim();
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) key = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) key = Buffer.from(t.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''), 'base64url');
  if (key === undefined || key.length !== KEY_BYTES) {
    throw new MeshError('CONFIG_INVALID', `invalid configuration:\n  ${name}: must be 32 bytes as 64 hex digits or base64 (43-44 characters)`);
  }
  return key;
}

/** A new random secrets key in the text form `parseSecretsKey` reads (base64url, 43 characters). */
export function newSecretsKey(): string {
  return randomBytes(KEY_BYTES).toString('base64url');
}

export class SecretBox {
  /** Identifies the key in sealed values; not secret. */
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== KEY_BYTES) throw new MeshError('CONFIG_INVALID', `secrets key must be ${KEY_BYTES} bytes`);
    this.#key = Buffer.from(key);
    this.keyId = createHash('sha256').update('edge-mesh secrets key id\0').update(key).digest().subarray(0, 8).toString('base64url');
  }

  static fromText(text: string, name?: string): SecretBox {
    return new SecretBox(parseSecretsKey(text, name));
  }

  seal(plaintext: string, context: string): string {
    const data = Buffer.from(plaintext, 'utf8');
    if (data.length > MAX_SEALED_PLAINTEXT_BYTES) throw new MeshError('TOO_LARGE', `secret to seal is over ${MAX_SEALED_PLAINTEXT_BYTES} bytes`);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([cipher.update(data), cipher.final()]);
    return [VERSION, this.keyId, iv.toString('base64url'), ct.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
  }

  open(sealed: string, context: string): OpenResult {
    // Bounded before any decoding: a record carries at most a sealed MAX_SEALED_PLAINTEXT_BYTES.
    if (sealed.length > 64 + Math.ceil((MAX_SEALED_PLAINTEXT_BYTES * 4) / 3)) return { ok: false, reason: 'corrupt' };
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p))) return { ok: false, reason: 'corrupt' };
    const [, keyId, ivText, ctText, tagText] = parts as [string, string, string, string, string];
    if (keyId !== this.keyId) return { ok: false, reason: 'other-key' };
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return { ok: false, reason: 'corrupt' };
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      const pt = Buffer.concat([decipher.update(Buffer.from(ctText, 'base64url')), decipher.final()]);
      return { ok: true, plaintext: pt.toString('utf8') };
    } catch {
      // Wrong tag: altered, or sealed for another context.
      return { ok: false, reason: 'corrupt' };
    }
  }

  /** Never let the key reach a log line or a JSON dump by accident. */
  toJSON(): string {
    return `[SecretBox ${this.keyId}]`;
  }
}
