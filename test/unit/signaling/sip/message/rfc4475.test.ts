import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  SipParseError,
  getTag,
  parseNameAddr,
  parseSipMessage,
  parseUri,
  parseVia,
  serializeSipMessage,
} from '../../../../../signaling/sip/message/index.js';
import type { SipMessage } from '../../../../../signaling/sip/message/index.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../../../fixtures/rfc4475');

type Outcome = 'accept' | 'reject';

/**
 * Every message of RFC 4475 ("SIP Torture Test Messages") with the section
 * that describes it and what a parser must do with it. "accept" messages may
 * still be refused later (416 and 420 by the stack, 415, 483 ... by the TU): the RFC
 * asks only that they parse. "reject" messages must not reach the stack;
 * `partial` says whether the request was readable enough to answer 400.
 */
const EXPECTATIONS: Record<string, { section: string; outcome: Outcome; partial?: boolean; status?: number }> = {
  // §3.1.1 Valid messages
  wsinv: { section: '3.1.1.1 A Short Tortuous INVITE', outcome: 'accept' },
  intmeth: { section: '3.1.1.2 Wide Range of Valid Characters', outcome: 'accept' },
  esc01: { section: '3.1.1.3 Valid Use of the % Escaping Mechanism', outcome: 'accept' },
  escnull: { section: '3.1.1.4 Escaped Nulls in URIs', outcome: 'accept' },
  esc02: { section: '3.1.1.5 Use of % When It Is Not an Escape', outcome: 'accept' },
  lwsdisp: { section: '3.1.1.6 Message with No LWS between Display Name and <', outcome: 'accept' },
  longreq: { section: '3.1.1.7 Long Values in Header Fields', outcome: 'accept' },
  dblreq: { section: '3.1.1.8 Extra Trailing Octets in a UDP Datagram', outcome: 'accept' },
  semiuri: { section: '3.1.1.9 Semicolon-Separated Parameters in URI User Part', outcome: 'accept' },
  transports: { section: '3.1.1.10 Varied and Unknown Transport Types', outcome: 'accept' },
  mpart01: { section: '3.1.1.11 Multipart MIME Message', outcome: 'accept' },
  unreason: { section: '3.1.1.12 Unusual Reason Phrase', outcome: 'accept' },
  noreason: { section: '3.1.1.13 Empty Reason Phrase', outcome: 'accept' },
  // §3.1.2 Invalid messages
  badinv01: { section: '3.1.2.1 Extraneous Header Field Separators', outcome: 'reject', partial: true },
  clerr: { section: '3.1.2.2 Content Length Larger Than Message', outcome: 'reject', partial: true },
  ncl: { section: '3.1.2.3 Negative Content-Length', outcome: 'reject', partial: true },
  scalar02: { section: '3.1.2.4 Request Scalar Fields with Overlarge Values', outcome: 'reject', partial: true },
  scalarlg: { section: '3.1.2.5 Response Scalar Fields with Overlarge Values', outcome: 'reject', partial: false },
  quotbal: { section: '3.1.2.6 Unterminated Quoted String in Display Name', outcome: 'reject', partial: true },
  ltgtruri: { section: '3.1.2.7 <> Enclosing Request-URI', outcome: 'reject', partial: true },
  lwsruri: { section: '3.1.2.8 Malformed SIP Request-URI (embedded LWS)', outcome: 'reject', partial: true },
  lwsstart: { section: '3.1.2.9 Multiple SP Separating Request-Line Elements', outcome: 'reject', partial: true },
  trws: { section: '3.1.2.10 SP Characters at End of Request-Line', outcome: 'reject', partial: true },
  escruri: { section: '3.1.2.11 Escaped Headers in SIP Request-URI', outcome: 'reject', partial: true },
  baddate: { section: '3.1.2.12 Invalid Time Zone in Date Header Field', outcome: 'reject', partial: true },
  regbadct: { section: '3.1.2.13 Failure to Enclose name-addr URI in <>', outcome: 'reject', partial: true },
  badaspec: { section: '3.1.2.14 Spaces within addr-spec', outcome: 'reject', partial: true },
  baddn: { section: '3.1.2.15 Non-token Characters in Display Name', outcome: 'reject', partial: true },
  badvers: { section: '3.1.2.16 Unknown Protocol Version', outcome: 'reject', partial: true, status: 505 },
  mismatch01: { section: '3.1.2.17 Start Line and CSeq Method Mismatch', outcome: 'reject', partial: true },
  mismatch02: { section: '3.1.2.18 Unknown Method with CSeq Method Mismatch', outcome: 'reject', partial: true },
  bigcode: { section: '3.1.2.19 Overlarge Response Code', outcome: 'reject', partial: false },
  // §3.2 Transaction layer semantics
  badbranch: { section: '3.2.1 Missing Transaction Identifier', outcome: 'accept' },
  // §3.3 Application layer semantics
  insuf: { section: '3.3.1 Missing Required Header Fields', outcome: 'reject', partial: true },
  unkscm: { section: '3.3.2 Request-URI with Unknown Scheme (the stack answers 416, uas-checks.ts)', outcome: 'accept' },
  novelsc: { section: '3.3.3 Request-URI with Known but Atypical Scheme', outcome: 'accept' },
  unksm2: { section: '3.3.4 Unknown URI Schemes in Header Fields', outcome: 'accept' },
  bext01: { section: '3.3.5 Proxy-Require and Require (the stack answers 420, uas-checks.ts)', outcome: 'accept' },
  invut: { section: '3.3.6 Unknown Content-Type (app answers 415)', outcome: 'accept' },
  regaut01: { section: '3.3.7 Unknown Authorization Scheme', outcome: 'accept' },
  multi01: { section: '3.3.8 Multiple Values in Single Value Required Fields', outcome: 'reject', partial: true },
  mcl01: { section: '3.3.9 Multiple Content-Length Values', outcome: 'reject', partial: true },
  bcast: { section: '3.3.10 200 OK Response with Broadcast Via Header Field Value', outcome: 'accept' },
  zeromf: { section: '3.3.11 Max-Forwards of Zero (app answers 483)', outcome: 'accept' },
  cparam01: { section: '3.3.12 REGISTER with a Contact Header Parameter', outcome: 'accept' },
  cparam02: { section: '3.3.13 REGISTER with a url-parameter', outcome: 'accept' },
  regescrt: { section: '3.3.14 REGISTER with a URL Escaped Header', outcome: 'accept' },
  sdp01: { section: '3.3.15 Unacceptable Accept Offering (app answers 406)', outcome: 'accept' },
  // §3.4 Backward compatibility
  inv2543: { section: '3.4.1 INVITE with RFC 2543 Syntax', outcome: 'accept' },
  // In the archive but described by no section: a Request-Line without SIP-Version.
  test: { section: '(archive only, undescribed)', outcome: 'reject', partial: false },
};

function load(name: string): Buffer {
  return readFileSync(join(FIXTURES, `${name}.dat`));
}

/** Header fields other than Content-Length (which the serializer always rewrites). */
function withoutLength(m: SipMessage): { name: string; value: string }[] {
  return [...m.headers.entries()].filter((f) => f.name !== 'Content-Length').map((f) => ({ ...f }));
}

function parseFixture(name: string): SipMessage {
  return parseSipMessage(load(name));
}

/** `sha256  file` lines of the SHA-256 block in SOURCE.md (the archive files' digests). */
function sourceDigests(): Map<string, string> {
  const text = readFileSync(join(FIXTURES, 'SOURCE.md'), 'utf8');
  const block = text.slice(text.indexOf('## SHA-256'));
  const out = new Map<string, string>();
  for (const m of block.matchAll(/^([0-9a-f]{64}) {2}(\S+\.dat)$/gm)) out.set(m[2]!, m[1]!);
  return out;
}

describe('RFC 4475 fixtures are the archive files', () => {
  it('every .dat file has the SHA-256 that SOURCE.md records, and SOURCE.md names all 50', () => {
    const digests = sourceDigests();
    expect(digests.size).toBe(50);
    const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.dat')).sort();
    expect(files).toEqual([...digests.keys()].sort());
    for (const f of files) {
      expect(createHash('sha256').update(readFileSync(join(FIXTURES, f))).digest('hex'), f).toBe(digests.get(f));
    }
  });

  it('longreq.dat has the RFC text\'s repeat counts (§3.1.1.7: longparam·name x25, 3515 octets)', () => {
    const raw = load('longreq');
    expect(raw.length).toBe(3515);
    const param = /;longparam((?:name)+)=shortvalue/.exec(raw.toString('latin1'))?.[1] ?? '';
    expect(param.length / 'name'.length).toBe(25);
  });

  it('CRLF line ends are kept: no bare LF in any header section', () => {
    for (const f of readdirSync(FIXTURES).filter((x) => x.endsWith('.dat'))) {
      const raw = readFileSync(join(FIXTURES, f)).toString('latin1');
      const head = raw.slice(0, raw.indexOf('\r\n\r\n') < 0 ? raw.length : raw.indexOf('\r\n\r\n'));
      expect(/(^|[^\r])\n/.test(head), f).toBe(false);
    }
  });
});

describe('RFC 4475 torture messages', () => {
  it('has an expectation for every fixture file and a file for every expectation', () => {
    const files = readdirSync(FIXTURES)
      .filter((f) => f.endsWith('.dat'))
      .map((f) => f.slice(0, -4))
      .sort();
    expect(files).toEqual(Object.keys(EXPECTATIONS).sort());
    expect(files).toHaveLength(50);
  });

  for (const [name, exp] of Object.entries(EXPECTATIONS)) {
    if (exp.outcome === 'accept') {
      it(`accepts ${name} (§${exp.section})`, () => {
        const msg = parseFixture(name);
        // Round trip: what we write parses back to the same thing.
        const again = parseSipMessage(serializeSipMessage(msg));
        expect(again.type).toBe(msg.type);
        expect(withoutLength(again)).toEqual(withoutLength(msg));
        expect(again.headers.get('Content-Length')).toBe(String(msg.body.length));
        expect(again.body.equals(msg.body)).toBe(true);
      });
    } else {
      it(`rejects ${name} (§${exp.section})`, () => {
        let err: unknown;
        try {
          parseFixture(name);
        } catch (e) {
          err = e;
        }
        expect(err).toBeInstanceOf(SipParseError);
        const pe = err as SipParseError;
        expect(pe.code).toBe('BAD_REQUEST');
        expect(pe.reason.length).toBeGreaterThan(0);
        expect(pe.partial !== undefined).toBe(exp.partial);
        expect(pe.status).toBe(exp.status ?? 400);
      });
    }
  }
});

describe('RFC 4475 valid messages: parsed content', () => {
  it('wsinv: folding, compact names, LWS around separators, escaped quotes', () => {
    const m = parseFixture('wsinv');
    if (m.type !== 'request') throw new Error('expected request');
    expect(m.method).toBe('INVITE');
    expect(m.body.length).toBe(150);
    expect(getTag(m.headers.get('To')!)).toBe('1918181833n');
    const from = parseNameAddr(m.headers.get('From')!);
    expect(from.displayName).toBe('J Rosenberg \\"');
    expect(from.params.get('tag')).toBe('98asjd8');
    const vias = m.headers.getList('Via').map(parseVia);
    expect(vias.map((v) => `${v.transport} ${v.host}`)).toEqual([
      'UDP 192.0.2.2',
      'TCP spindle.example.com',
      'UDP 192.168.255.111',
    ]);
    expect(vias[2]!.params.get('branch')).toBe('z9hG4bK30239');
    expect(m.headers.get('Subject')).toBe('');
    expect(m.headers.get('NewFangledHeader')).toBe('newfangled value continued newfangled value');
    expect(m.headers.get('CSeq')).toBe('0009 INVITE');
    const contact = parseNameAddr(m.headers.get('Contact')!);
    expect(contact.displayName).toBe('Quoted string ""');
    expect(contact.params.get('q')).toBe('0.33');
    expect(contact.params.get('secondparam')).toBeNull();
  });

  it('intmeth: unusual method, URI user and password, quoted controls', () => {
    const m = parseFixture('intmeth');
    if (m.type !== 'request') throw new Error('expected request');
    expect(m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~");
    const u = parseUri(m.uri);
    expect(u.user).toBe("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    expect(u.password).toBe("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    expect(u.host).toBe('example.com');
    expect(parseNameAddr(m.headers.get('To')!).displayName).toBe('BEL:\x07 NUL:\x00 DEL:\x7f');
    expect(getTag(m.headers.get('From')!)).toBe("_token~1'+`*%!-.");
    expect(m.headers.get("extensionHeader-!.%*+_`'~")).toBe('\ufeff大停電');
  });

  it('esc01 / escnull: escapes are decoded in URI parts', () => {
    const m = parseFixture('esc01');
    if (m.type !== 'request') throw new Error('expected request');
    expect(parseUri(m.uri).user).toBe('sips:user@example.com');
    const contact = parseUri(parseNameAddr(m.headers.get('Contact')!).uri);
    expect(contact.user).toBe('caller');
    expect(contact.params.get('lr')).toBeNull();
    expect(contact.params.get('name')).toBe('value%41');
    const n = parseFixture('escnull');
    const users = n.headers.getList('Contact').map((c) => parseUri(parseNameAddr(c).uri).user);
    expect(users).toEqual(['\0', '\0\0']);
  });

  it('dblreq: only the first message of the datagram is taken', () => {
    const m = parseFixture('dblreq');
    if (m.type !== 'request') throw new Error('expected request');
    expect(m.method).toBe('REGISTER');
    expect(m.body.length).toBe(0);
  });

  it('longreq: 34 Via values in mixed case and compact form', () => {
    const m = parseFixture('longreq');
    expect(m.headers.getList('Via')).toHaveLength(34);
  });

  it('unreason / noreason: UTF-8 and empty reason phrases', () => {
    const u = parseFixture('unreason');
    if (u.type !== 'response') throw new Error('expected response');
    expect(u.reason).toBe('= 2**3 * 5**2 но сто девяносто девять - простое');
    const n = parseFixture('noreason');
    if (n.type !== 'response') throw new Error('expected response');
    expect(n.status).toBe(100);
    expect(n.reason).toBe('');
  });

  it('transports and inv2543: unknown transports, no branch, no Content-Length', () => {
    const t = parseFixture('transports');
    expect(t.headers.getList('Via').map((v) => parseVia(v).transport)).toEqual(['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
    const inv = parseFixture('inv2543');
    expect(parseVia(inv.headers.get('Via')!).params.has('branch')).toBe(false);
    expect(inv.body.toString('latin1')).toMatch(/^v=0\r\n[\s\S]*m=audio 49217 RTP\/AVP 0\r\n$/);
  });

  it('semiuri: user part holding ";" and an escaped "@"', () => {
    const m = parseFixture('semiuri');
    if (m.type !== 'request') throw new Error('expected request');
    const u = parseUri(m.uri);
    expect(u.user).toBe('user;par=u@example.net');
    expect(u.host).toBe('example.com');
    expect(u.params.size).toBe(0);
  });
});
