/**
 * Ordered, case-insensitive SIP header collection.
 *
 * Names are normalised to their canonical long form (compact forms such as
 * `v`, `f`, `i` are expanded, RFC 3261 §7.3.3) so lookups never need to know
 * which form arrived on the wire. Values are kept as raw strings (after
 * unfolding); structured parsing lives in `headers-parse.ts`.
 */
// Maps, not object literals: a header named `constructor` or `__proto__` must not find Object.prototype.
const COMPACT = new Map<string, string>(Object.entries({
  i: 'Call-ID', m: 'Contact', e: 'Content-Encoding', l: 'Content-Length', c: 'Content-Type',
  f: 'From', s: 'Subject', k: 'Supported', t: 'To', v: 'Via', o: 'Event', u: 'Allow-Events',
  r: 'Refer-To', b: 'Referred-By', a: 'Accept-Contact', j: 'Reject-Contact', d: 'Request-Disposition',
  x: 'Session-Expires', y: 'Identity', n: 'Identity-Info',
}));

/** Lower-case name → canonical long form. */
const CANONICAL = new Map<string, string>();
/** Canonical long form → itself: the common case (names already as sent by most UAs) needs no lower-casing. */
const EXACT = new Map<string, string>();
for (const n of [
  'Accept', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Authentication-Info',
  'Authorization', 'Call-ID', 'Call-Info', 'Contact', 'Content-Disposition', 'Content-Encoding',
  'Content-Language', 'Content-Length', 'Content-Type', 'CSeq', 'Date', 'Error-Info', 'Expires',
  'From', 'In-Reply-To', 'Max-Forwards', 'MIME-Version', 'Min-Expires', 'Organization', 'Priority',
  'Proxy-Authenticate', 'Proxy-Authorization', 'Proxy-Require', 'Record-Route', 'Reply-To',
  'Require', 'Retry-After', 'Route', 'Server', 'Subject', 'Supported', 'Timestamp', 'To',
  'Unsupported', 'User-Agent', 'Via', 'Warning', 'WWW-Authenticate', 'Event', 'Allow-Events',
  'Refer-To', 'Referred-By', 'Session-Expires', 'Min-SE', 'RSeq', 'RAck', 'P-Asserted-Identity',
  'Reason', 'Identity', 'Identity-Info',
]) {
  CANONICAL.set(n.toLowerCase(), n);
  EXACT.set(n, n);
}

/** Canonical long form of a header name: `v` → `Via`, `call-id` → `Call-ID`. */
export function canonicalHeaderName(name: string): string {
  const exact = EXACT.get(name);
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  if (lower.length === 1) {
    const long = COMPACT.get(lower);
    if (long !== undefined) return long;
  }
  return CANONICAL.get(lower) ?? name;
}

/**
 * Header names equal but for ASCII case (§7.3.1), without the lower-cased copies a
 * `toLowerCase()` comparison makes on every field of every lookup. Stored and looked-up names
 * are both canonical, so known headers match on the first test; only unknown ones sent in
 * another case reach the loop.
 */
function sameName(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0x41 && x <= 0x5a) x += 0x20;
    if (y >= 0x41 && y <= 0x5a) y += 0x20;
    if (x !== y) return false;
  }
  return true;
}

export interface HeaderField {
  /** Canonical long name. */
  readonly name: string;
  value: string;
}

export class SipHeaders {
  private readonly fields: HeaderField[] = [];

  constructor(init?: Iterable<readonly [string, string]>) {
    if (init) for (const [n, v] of init) this.append(n, v);
  }

  get size(): number {
    return this.fields.length;
  }

  /** First value of the header, or undefined. */
  get(name: string): string | undefined {
    const canon = canonicalHeaderName(name);
    for (const f of this.fields) if (sameName(f.name, canon)) return f.value;
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Every occurrence's raw value, in order (no comma splitting; see `getList`). */
  getAll(name: string): string[] {
    const canon = canonicalHeaderName(name);
    const out: string[] = [];
    for (const f of this.fields) if (sameName(f.name, canon)) out.push(f.value);
    return out;
  }

  /**
   * Every element of a list header (Via, Route, Record-Route, Contact, ...):
   * repeated headers and comma-separated values both flattened, in order
   * (RFC 3261 §7.3.1). Commas inside quotes or `<...>` do not split.
   */
  getList(name: string): string[] {
    const canon = canonicalHeaderName(name);
    const out: string[] = [];
    for (const f of this.fields) {
      if (!sameName(f.name, canon)) continue;
      if (f.value.indexOf(',') < 0) {
        // One element (the common case): no split, no intermediate array.
        const v = f.value.trim();
        if (v.length > 0) out.push(v);
      } else {
        for (const e of splitHeaderList(f.value)) out.push(e);
      }
    }
    return out;
  }

  /** Replace every occurrence with one value (kept at the first occurrence's position). */
  set(name: string, value: string): this {
    const canon = canonicalHeaderName(name);
    const idx = this.fields.findIndex((f) => sameName(f.name, canon));
    if (idx < 0) {
      this.fields.push({ name: canon, value });
      return this;
    }
    this.fields[idx] = { name: canon, value };
    for (let i = this.fields.length - 1; i > idx; i--) {
      if (sameName(this.fields[i]!.name, canon)) this.fields.splice(i, 1);
    }
    return this;
  }

  append(name: string, value: string): this {
    this.fields.push({ name: canonicalHeaderName(name), value });
    return this;
  }

  /** Insert before the first occurrence of the same header (or at the top). Used for Via / Record-Route. */
  prepend(name: string, value: string): this {
    const canon = canonicalHeaderName(name);
    const idx = this.fields.findIndex((f) => sameName(f.name, canon));
    this.fields.splice(idx < 0 ? 0 : idx, 0, { name: canon, value });
    return this;
  }

  delete(name: string): this {
    const canon = canonicalHeaderName(name);
    for (let i = this.fields.length - 1; i >= 0; i--) {
      if (sameName(this.fields[i]!.name, canon)) this.fields.splice(i, 1);
    }
    return this;
  }

  /**
   * Remove the first element of a list header, whether it was its own header
   * line or the first comma-separated element of one. Returns the removed element.
   */
  shiftList(name: string): string | undefined {
    const canon = canonicalHeaderName(name);
    const idx = this.fields.findIndex((f) => sameName(f.name, canon));
    if (idx < 0) return undefined;
    const f = this.fields[idx]!;
    const parts = splitHeaderList(f.value);
    const first = parts.shift();
    if (parts.length === 0) this.fields.splice(idx, 1);
    else f.value = parts.join(', ');
    return first;
  }

  entries(): IterableIterator<HeaderField> {
    return this.fields[Symbol.iterator]();
  }

  clone(): SipHeaders {
    const h = new SipHeaders();
    for (const f of this.fields) h.fields.push({ name: f.name, value: f.value });
    return h;
  }
}

/** Split a header value on top-level commas (not inside quotes, `<>` or escapes). */
export function splitHeaderList(value: string): string[] {
  const out: string[] = [];
  let depthAngle = 0;
  let inQuote = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (inQuote) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c /* < */) depthAngle++;
    else if (c === 0x3e /* > */) depthAngle = Math.max(0, depthAngle - 1);
    else if (c === 0x2c /* , */ && depthAngle === 0) {
      const part = value.slice(start, i).trim();
      if (part.length > 0) out.push(part);
      start = i + 1;
    }
  }
  const last = value.slice(start).trim();
  if (last.length > 0) out.push(last);
  return out;
}
