/**
 * A small, strict XML 1.0 parser for instruction documents. It supports what
 * such documents use — elements, quoted attributes, text, the five predefined
 * entities and numeric character references (XML 1.0 §4.1, §4.6), CDATA
 * sections, comments and the XML declaration — and rejects everything else.
 * DTDs (`<!DOCTYPE`) are refused outright: entity declarations are the root
 * of "billion laughs" and external-entity attacks, and the dialect never needs
 * them. Every input dimension is bounded.
 */
import { DIALECT_ERRORS, routerError } from './errors.js';

export interface XmlElement {
  type: 'element';
  name: string;
  /** Attribute values with entities already decoded. Null prototype: names like `__proto__` are plain keys. */
  attrs: Record<string, string>;
  children: XmlNode[];
}

export interface XmlText {
  type: 'text';
  text: string;
}

export type XmlNode = XmlElement | XmlText;

export interface XmlLimits {
  /** Document size in UTF-8 bytes. Default 64 KiB. */
  maxBytes?: number;
  /** Element nesting depth (the root is depth 1). Default 16. */
  maxDepth?: number;
  /** Total elements. Default 2000. */
  maxElements?: number;
  /** Attributes per element. Default 32. */
  maxAttributes?: number;
  /** Length of one attribute value after decoding. Default 4096. */
  maxAttributeLength?: number;
  /** Length of element and attribute names. Default 64. */
  maxNameLength?: number;
}

const DEFAULTS: Required<XmlLimits> = {
  maxBytes: 64 * 1024,
  maxDepth: 16,
  maxElements: 2000,
  maxAttributes: 32,
  maxAttributeLength: 4096,
  maxNameLength: 64,
};

// A Map, not an object literal: `&constructor;` must be an unknown entity, not Object.prototype's.
const PREDEFINED = new Map<string, string>([['amp', '&'], ['lt', '<'], ['gt', '>'], ['quot', '"'], ['apos', "'"]]);

// XML 1.0 §2.3 NameStartChar / NameChar, restricted to what a name here can sensibly be.
const NAME_START = /[A-Za-z_:]/;
const NAME_CHAR = /[A-Za-z0-9_:.-]/;

function fail(message: string, pos: number): never {
  throw routerError(DIALECT_ERRORS.DOCUMENT_PARSE_FAILURE, `XML: ${message} at offset ${pos}`, { offset: pos });
}

/** Parse a whole document; returns its single root element. Throws a router error with code 12100. */
export function parseXml(src: string, limits: XmlLimits = {}): XmlElement {
  const lim = { ...DEFAULTS, ...limits };
  if (Buffer.byteLength(src, 'utf8') > lim.maxBytes) fail(`document larger than ${lim.maxBytes} bytes`, 0);
  return new XmlParser(src, lim).document();
}

class XmlParser {
  private pos = 0;
  private elements = 0;

  constructor(
    private readonly s: string,
    private readonly lim: Required<XmlLimits>,
  ) {}

  document(): XmlElement {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1; // byte order mark
    if (this.s.startsWith('<?xml', this.pos)) this.declaration();
    this.misc();
    if (this.pos >= this.s.length || this.s[this.pos] !== '<') fail('expected a root element', this.pos);
    const root = this.element(1);
    this.misc();
    if (this.pos < this.s.length) fail('content after the root element', this.pos);
    return root;
  }

  /** XML 1.0 §2.8: the declaration only at the very start. */
  private declaration(): void {
    const end = this.s.indexOf('?>', this.pos);
    if (end < 0) fail('unterminated XML declaration', this.pos);
    const body = this.s.slice(this.pos + 5, end);
    if (!/^\s+version\s*=\s*(["'])1\.[0-9]+\1(\s+encoding\s*=\s*(["'])[A-Za-z][A-Za-z0-9._-]*\3)?(\s+standalone\s*=\s*(["'])(yes|no)\5)?\s*$/.test(body)) {
      fail('malformed XML declaration', this.pos);
    }
    this.pos = end + 2;
  }

  /** Whitespace and comments around the root; DTDs and processing instructions are refused. */
  private misc(): void {
    for (;;) {
      this.skipSpace();
      if (this.s.startsWith('<!--', this.pos)) this.comment();
      else if (this.s.startsWith('<!', this.pos)) fail('DTDs and declarations are not allowed', this.pos);
      else if (this.s.startsWith('<?', this.pos)) fail('processing instructions are not allowed', this.pos);
      else return;
    }
  }

  private skipSpace(): void {
    while (this.pos < this.s.length && /[ \t\r\n]/.test(this.s[this.pos]!)) this.pos++;
  }

  private comment(): void {
    const end = this.s.indexOf('-->', this.pos + 4);
    if (end < 0) fail('unterminated comment', this.pos);
    // XML 1.0 §2.5: "--" must not occur within a comment.
    if (this.s.slice(this.pos + 4, end).includes('--')) fail('"--" inside a comment', this.pos);
    this.pos = end + 3;
  }

  private name(): string {
    const start = this.pos;
    if (this.pos >= this.s.length || !NAME_START.test(this.s[this.pos]!)) fail('expected a name', this.pos);
    this.pos++;
    while (this.pos < this.s.length && NAME_CHAR.test(this.s[this.pos]!)) {
      this.pos++;
      if (this.pos - start > this.lim.maxNameLength) fail(`name longer than ${this.lim.maxNameLength}`, start);
    }
    return this.s.slice(start, this.pos);
  }

  private element(depth: number): XmlElement {
    if (depth > this.lim.maxDepth) fail(`nesting deeper than ${this.lim.maxDepth}`, this.pos);
    if (++this.elements > this.lim.maxElements) fail(`more than ${this.lim.maxElements} elements`, this.pos);
    this.pos++; // '<'
    const name = this.name();
    const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
    let count = 0;
    for (;;) {
      const before = this.pos;
      this.skipSpace();
      const c = this.s[this.pos];
      if (c === undefined) fail(`unterminated start tag <${name}>`, this.pos);
      if (c === '/') {
        if (this.s[this.pos + 1] !== '>') fail('expected "/>"', this.pos);
        this.pos += 2;
        return { type: 'element', name, attrs, children: [] };
      }
      if (c === '>') {
        this.pos++;
        break;
      }
      if (before === this.pos) fail('expected whitespace before an attribute', this.pos);
      const an = this.name();
      this.skipSpace();
      if (this.s[this.pos] !== '=') fail(`expected "=" after attribute ${an}`, this.pos);
      this.pos++;
      this.skipSpace();
      const q = this.s[this.pos];
      if (q !== '"' && q !== "'") fail(`attribute ${an} value must be quoted`, this.pos);
      const end = this.s.indexOf(q, this.pos + 1);
      if (end < 0) fail(`unterminated value of attribute ${an}`, this.pos);
      const raw = this.s.slice(this.pos + 1, end);
      if (raw.includes('<')) fail(`"<" in value of attribute ${an}`, this.pos);
      const value = this.decode(raw, this.pos + 1);
      if (value.length > this.lim.maxAttributeLength) fail(`attribute ${an} longer than ${this.lim.maxAttributeLength}`, this.pos);
      // XML 1.0 §3.1 (Unique Att Spec): an attribute appears at most once.
      if (Object.prototype.hasOwnProperty.call(attrs, an)) fail(`duplicate attribute ${an}`, this.pos);
      if (++count > this.lim.maxAttributes) fail(`more than ${this.lim.maxAttributes} attributes on <${name}>`, this.pos);
      attrs[an] = value;
      this.pos = end + 1;
    }
    const children: XmlNode[] = [];
    let text = '';
    const flush = (): void => {
      if (text !== '') children.push({ type: 'text', text });
      text = '';
    };
    for (;;) {
      if (this.pos >= this.s.length) fail(`unclosed element <${name}>`, this.pos);
      if (this.s.startsWith('</', this.pos)) {
        this.pos += 2;
        const close = this.name();
        this.skipSpace();
        if (this.s[this.pos] !== '>') fail('expected ">" in end tag', this.pos);
        if (close !== name) fail(`end tag </${close}> does not match <${name}>`, this.pos);
        this.pos++;
        flush();
        return { type: 'element', name, attrs, children };
      }
      if (this.s.startsWith('<!--', this.pos)) {
        this.comment();
      } else if (this.s.startsWith('<![CDATA[', this.pos)) {
        const end = this.s.indexOf(']]>', this.pos + 9);
        if (end < 0) fail('unterminated CDATA section', this.pos);
        text += this.s.slice(this.pos + 9, end);
        this.pos = end + 3;
      } else if (this.s.startsWith('<!', this.pos)) {
        fail('declarations are not allowed', this.pos);
      } else if (this.s.startsWith('<?', this.pos)) {
        fail('processing instructions are not allowed', this.pos);
      } else if (this.s[this.pos] === '<') {
        flush();
        children.push(this.element(depth + 1));
      } else {
        let end = this.s.indexOf('<', this.pos);
        if (end < 0) end = this.s.length;
        const raw = this.s.slice(this.pos, end);
        // XML 1.0 §2.4: "]]>" must not appear in character data.
        if (raw.includes(']]>')) fail('"]]>" in text', this.pos);
        text += this.decode(raw, this.pos);
        this.pos = end;
      }
    }
  }

  /** Decode entity and character references (XML 1.0 §4.1); anything else with "&" is an error. */
  private decode(raw: string, at: number): string {
    if (!raw.includes('&')) return raw;
    return raw.replace(/&([^;]{0,12});?/g, (m, ref: string) => {
      if (!m.endsWith(';')) fail('unterminated reference', at);
      if (ref.startsWith('#')) {
        const cp = /^#x[0-9A-Fa-f]{1,6}$/.test(ref)
          ? parseInt(ref.slice(2), 16)
          : /^#[0-9]{1,7}$/.test(ref)
            ? parseInt(ref.slice(1), 10)
            : NaN;
        // XML 1.0 §2.2 Char: tab, LF, CR, and the ranges that exclude controls and surrogates.
        const ok = cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
        if (!ok) fail(`invalid character reference &${ref};`, at);
        return String.fromCodePoint(cp);
      }
      const v = PREDEFINED.get(ref);
      if (v === undefined) fail(`unknown entity &${ref};`, at);
      return v;
    });
  }
}

/** Concatenated direct text children of an element, trimmed. */
export function textOf(el: XmlElement): string {
  let t = '';
  for (const c of el.children) if (c.type === 'text') t += c.text;
  return t.trim();
}
