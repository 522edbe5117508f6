import { MeshError } from '../../regions/core/errors.js';

/**
 * Bencode, the encoding of rtpengine's ng control protocol: byte strings
 * (`4:spam`), integers (`i42e`), lists (`l…e`) and dictionaries (`d…e`, keys
 * are byte strings sorted by raw bytes). Everything read from the wire is
 * untrusted, so decoding is bounded in size and nesting depth and every
 * malformed input is a MeshError('BAD_GATEWAY') that names the offset.
 */

/** A value that can be encoded. `undefined` dictionary entries are skipped. */
export type BencodeInput =
  | string
  | Buffer
  | Uint8Array
  | number
  | bigint
  | boolean
  | readonly BencodeInput[]
  | { readonly [key: string]: BencodeInput | undefined };

/** A decoded value: strings are utf8 `string`s or `Buffer`s depending on `strings`. */
export type BencodeValue = string | Buffer | number | BencodeValue[] | { [key: string]: BencodeValue };

export interface BencodeLimits {
  /** Largest input (decode) or output (encode) in bytes. Default 1 MiB. */
  maxBytes?: number;
  /** Deepest nesting of lists and dictionaries. Default 32. */
  maxDepth?: number;
}

export interface BencodeDecodeOptions extends BencodeLimits {
  /** Return byte strings as utf8 `string` (default) or as `Buffer` (binary-safe). Keys are always strings. */
  strings?: 'utf8' | 'buffer';
}

export const BENCODE_DEFAULT_MAX_BYTES = 1024 * 1024;
export const BENCODE_DEFAULT_MAX_DEPTH = 32;

const CH_I = 0x69; // 'i'
const CH_L = 0x6c; // 'l'
const CH_D = 0x64; // 'd'
const CH_E = 0x65; // 'e'
const CH_COLON = 0x3a;
const CH_0 = 0x30;
const CH_9 = 0x39;

function bad(message: string, offset?: number): MeshError {
  const where = offset === undefined ? '' : ` at offset ${offset}`;
  return new MeshError('BAD_GATEWAY', `bencode: ${message}${where}`, offset === undefined ? {} : { detail: { offset } });
}

// ---------------------------------------------------------------- encode

/**
 * Encode `value`; throws BAD_GATEWAY for values bencode cannot carry (floats, null, cycles beyond maxDepth).
 *
 * Text is gathered in one string and turned into bytes once (a Buffer per token was most of an
 * ng request's allocations); a Buffer value is copied in as it is, between text runs.
 */
export function bencodeEncode(value: BencodeInput, limits: BencodeLimits = {}): Buffer {
  const maxBytes = limits.maxBytes ?? BENCODE_DEFAULT_MAX_BYTES;
  const maxDepth = limits.maxDepth ?? BENCODE_DEFAULT_MAX_DEPTH;
  const parts: Buffer[] = [];
  let text = '';
  let size = 0;
  /** Where the walk is, for error messages only: `$.key[2]`. */
  const path: (string | number)[] = [];
  const where = (): string => `$${path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('')}`;
  const add = (s: string, bytes: number): void => {
    size += bytes;
    if (size > maxBytes) throw bad(`encoded value exceeds ${maxBytes} bytes`);
    text += s;
  };
  // Every token after a string starts with an ASCII byte, so no surrogate pair forms across a join.
  const addString = (v: string): void => {
    const n = Buffer.byteLength(v, 'utf8');
    const prefix = `${n}:`;
    add(prefix + v, prefix.length + n);
  };
  const addBytes = (b: Buffer): void => {
    add(`${b.length}:`, String(b.length).length + 1 + b.length);
    parts.push(Buffer.from(text, 'utf8'));
    text = '';
    parts.push(b);
  };
  const walk = (v: BencodeInput, depth: number): void => {
    if (typeof v === 'string') return addString(v);
    if (Buffer.isBuffer(v)) return addBytes(v);
    if (v instanceof Uint8Array) return addBytes(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw bad(`${where()}: ${v} is not a safe integer`);
      const t = `i${v}e`;
      return add(t, t.length);
    }
    if (typeof v === 'bigint') {
      const t = `i${v.toString()}e`;
      return add(t, t.length);
    }
    // ng has no boolean type; rtpengine reads "yes"/"no" strings for flags.
    if (typeof v === 'boolean') return addString(v ? 'yes' : 'no');
    if (depth >= maxDepth) throw bad(`${where()}: nesting deeper than ${maxDepth}`);
    if (Array.isArray(v)) {
      add('l', 1);
      const list = v as readonly BencodeInput[];
      for (let i = 0; i < list.length; i++) {
        path.push(i);
        walk(list[i] as BencodeInput, depth + 1);
        path.pop();
      }
      add('e', 1);
      return;
    }
    if (v !== null && typeof v === 'object') {
      const dict = v as { readonly [key: string]: BencodeInput | undefined };
      add('d', 1);
      for (const k of sortedKeys(dict)) {
        addString(k);
        path.push(k);
        walk(dict[k] as BencodeInput, depth + 1);
        path.pop();
      }
      add('e', 1);
      return;
    }
    throw bad(`${where()}: cannot encode ${v === null ? 'null' : typeof v}`);
  };
  walk(value, 0);
  const tail = Buffer.from(text, 'utf8');
  if (parts.length === 0) return tail;
  parts.push(tail);
  return Buffer.concat(parts, size);
}

/** A dictionary's defined keys in raw byte order (BEP 3): ASCII keys, all of ng's, sort as JS strings do. */
function sortedKeys(dict: { readonly [key: string]: unknown }): string[] {
  const keys = Object.keys(dict).filter((k) => dict[k] !== undefined);
  if (keys.every(isAscii)) return keys.sort();
  return keys
    .map((k) => ({ k, raw: Buffer.from(k, 'utf8') }))
    .sort((a, b) => Buffer.compare(a.raw, b.raw))
    .map((e) => e.k);
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

// ---------------------------------------------------------------- decode

/** Decode exactly one value spanning the whole input; trailing bytes are an error. */
export function bencodeDecode(input: Buffer | string, opts: BencodeDecodeOptions = {}): BencodeValue {
  const buf = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const maxBytes = opts.maxBytes ?? BENCODE_DEFAULT_MAX_BYTES;
  const maxDepth = opts.maxDepth ?? BENCODE_DEFAULT_MAX_DEPTH;
  if (buf.length > maxBytes) throw bad(`input of ${buf.length} bytes exceeds ${maxBytes} bytes`);
  if (buf.length === 0) throw bad('empty input');
  const d = new Decoder(buf, maxDepth, opts.strings ?? 'utf8');
  const v = d.value(0);
  if (d.pos !== buf.length) throw bad(`${buf.length - d.pos} trailing bytes`, d.pos);
  return v;
}

class Decoder {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly maxDepth: number,
    private readonly strings: 'utf8' | 'buffer',
  ) {}

  private peek(): number {
    const c = this.buf[this.pos];
    if (c === undefined) throw bad('unexpected end of input', this.pos);
    return c;
  }

  value(depth: number): BencodeValue {
    const c = this.peek();
    if (c === CH_I) return this.integer();
    if (c >= CH_0 && c <= CH_9) {
      const raw = this.bytes();
      return this.strings === 'utf8' ? raw.toString('utf8') : raw;
    }
    if (c === CH_L || c === CH_D) {
      if (depth >= this.maxDepth) throw bad(`nesting deeper than ${this.maxDepth}`, this.pos);
      return c === CH_L ? this.list(depth) : this.dict(depth);
    }
    throw bad(`unexpected byte 0x${c.toString(16).padStart(2, '0')}`, this.pos);
  }

  private integer(): number {
    const start = this.pos;
    const end = this.buf.indexOf(CH_E, start + 1);
    if (end < 0) throw bad('unterminated integer', start);
    const text = this.buf.toString('latin1', start + 1, end);
    // BEP 3: no leading zeros, no "-0", digits only.
    if (!/^(0|-?[1-9][0-9]*)$/.test(text)) throw bad(`malformed integer "${text.slice(0, 24)}"`, start);
    const n = Number(text);
    if (!Number.isSafeInteger(n)) throw bad(`integer ${text.slice(0, 24)} out of safe range`, start);
    this.pos = end + 1;
    return n;
  }

  private bytes(): Buffer {
    const start = this.pos;
    let len = 0;
    let digits = 0;
    for (;;) {
      const c = this.peek();
      if (c === CH_COLON) break;
      if (c < CH_0 || c > CH_9) throw bad('malformed string length', start);
      if (digits > 0 && len === 0) throw bad('string length with leading zero', start);
      len = len * 10 + (c - CH_0);
      digits += 1;
      if (len > this.buf.length) throw bad(`string length ${len} exceeds input`, start);
      this.pos += 1;
    }
    this.pos += 1; // ':'
    if (this.pos + len > this.buf.length) throw bad(`string of ${len} bytes runs past end of input`, start);
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  private list(depth: number): BencodeValue[] {
    this.pos += 1; // 'l'
    const out: BencodeValue[] = [];
    while (this.peek() !== CH_E) out.push(this.value(depth + 1));
    this.pos += 1;
    return out;
  }

  private dict(depth: number): { [key: string]: BencodeValue } {
    this.pos += 1; // 'd'
    // A null-prototype object so keys such as "__proto__" stay plain data.
    const out = Object.create(null) as { [key: string]: BencodeValue };
    while (this.peek() !== CH_E) {
      const at = this.pos;
      const c = this.peek();
      if (c < CH_0 || c > CH_9) throw bad('dictionary key is not a string', at);
      const key = this.bytes().toString('utf8');
      if (Object.prototype.hasOwnProperty.call(out, key)) throw bad(`duplicate dictionary key "${key.slice(0, 40)}"`, at);
      out[key] = this.value(depth + 1);
    }
    this.pos += 1;
    return out;
  }
}

/** Narrowing helper: a decoded dictionary (not a list, string or integer). */
export function isBencodeDict(v: unknown): v is { [key: string]: BencodeValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}
