import { describe, expect, it } from 'vitest';
import { dialectCodeOf } from '../../../../signaling/router/errors.js';
import { parseXml, textOf, type XmlElement } from '../../../../signaling/router/xml.js';

function parseError(src: string, limits = {}): Error {
  try {
    parseXml(src, limits);
  } catch (e) {
    expect(dialectCodeOf(e)).toBe(12100);
    return e as Error;
  }
  throw new Error('expected a parse error');
}

describe('parseXml', () => {
  it('parses elements, attributes with both quotes, text and self-closing tags', () => {
    const root = parseXml(`<?xml version="1.0" encoding="UTF-8"?>\n<Response a="1" b='two'><Say>Hi</Say><Hangup/></Response>`);
    expect(root.name).toBe('Response');
    expect(root.attrs).toEqual({ a: '1', b: 'two' });
    const [say, hangup] = root.children as XmlElement[];
    expect(say!.name).toBe('Say');
    expect(textOf(say!)).toBe('Hi');
    expect(hangup!.children).toEqual([]);
  });

  it('decodes predefined and numeric entities in text and attributes', () => {
    const root = parseXml(`<R x="&quot;a&amp;b&apos;">&lt;&gt;&#65;&#x42;&#x1F600;</R>`);
    expect(root.attrs['x']).toBe(`"a&b'`);
    expect(textOf(root)).toBe('<>AB😀');
  });

  it('keeps CDATA verbatim and skips comments', () => {
    const root = parseXml(`<!-- lead --><R><!-- c --><![CDATA[a <b> & c]]></R><!-- tail -->`);
    expect(textOf(root)).toBe('a <b> & c');
  });

  it('accepts a byte order mark', () => {
    expect(parseXml('\ufeff<R/>').name).toBe('R');
  });

  it('treats __proto__ as a plain attribute name', () => {
    const root = parseXml(`<R __proto__="x"/>`);
    expect(root.attrs['__proto__']).toBe('x');
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it.each([
    ['empty document', ''],
    ['text only', 'hello'],
    ['unclosed element', '<R><S></R>'],
    ['mismatched end tag', '<R></S>'],
    ['two roots', '<R/><S/>'],
    ['trailing text', '<R/>x'],
    ['unquoted attribute', '<R a=1/>'],
    ['duplicate attribute', '<R a="1" a="2"/>'],
    ['attributes without space', '<R a="1"b="2"/>'],
    ['< in attribute', '<R a="<"/>'],
    ['unknown entity', '<R>&nbsp;</R>'],
    ['entity named like an Object.prototype member', '<R>&constructor;</R>'],
    ['entity named __proto__', '<R>&__proto__;</R>'],
    ['bare ampersand', '<R>a & b</R>'],
    ['unterminated reference', '<R>&amp</R>'],
    ['NUL character reference', '<R>&#0;</R>'],
    ['surrogate character reference', '<R>&#xD800;</R>'],
    ['out of range character reference', '<R>&#x110000;</R>'],
    ['unterminated comment', '<R><!-- x</R>'],
    ['double dash in comment', '<R><!-- a -- b --></R>'],
    ['unterminated CDATA', '<R><![CDATA[x</R>'],
    [']]> in text', '<R>a]]>b</R>'],
    ['processing instruction', '<R><?php echo 1 ?></R>'],
    ['XML declaration not first', ' <?xml version="1.0"?><R/>'],
    ['malformed declaration', '<?xml version="2"?><R/>'],
    ['name starting with a digit', '<1R/>'],
  ])('rejects %s', (_label, src) => {
    parseError(src);
  });

  it('rejects DTDs, so entity expansion attacks never start', () => {
    const billionLaughs = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><R>&lol2;</R>`;
    expect(parseError(billionLaughs).message).toMatch(/DTD/);
    const xxe = `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><R>&x;</R>`;
    expect(parseError(xxe).message).toMatch(/DTD/);
    expect(parseError('<R><!ENTITY x "y"></R>').message).toMatch(/declarations/);
  });

  it('bounds document size in bytes', () => {
    const big = `<R>${'é'.repeat(40_000)}</R>`; // 80 000 UTF-8 bytes, under 64 Ki characters
    expect(parseError(big).message).toMatch(/larger than 65536/);
    expect(parseXml(`<R>${'a'.repeat(100)}</R>`, { maxBytes: 200 }).name).toBe('R');
  });

  it('bounds nesting depth without recursing past the limit', () => {
    const deep = '<a>'.repeat(100_000) + '</a>'.repeat(100_000);
    expect(parseError(deep, { maxBytes: 10_000_000 }).message).toMatch(/nesting deeper than 16/);
    const ok = '<a>'.repeat(16) + '</a>'.repeat(16);
    expect(parseXml(ok).name).toBe('a');
  });

  it('bounds element count, attribute count, attribute length and name length', () => {
    expect(parseError(`<R>${'<x/>'.repeat(50)}</R>`, { maxElements: 20 }).message).toMatch(/more than 20 elements/);
    const attrs = Array.from({ length: 40 }, (_, i) => `a${i}="1"`).join(' ');
    expect(parseError(`<R ${attrs}/>`).message).toMatch(/more than 32 attributes/);
    expect(parseError(`<R a="${'x'.repeat(5000)}"/>`).message).toMatch(/longer than 4096/);
    expect(parseError(`<${'n'.repeat(100)}/>`).message).toMatch(/name longer than 64/);
  });
});
