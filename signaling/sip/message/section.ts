/**
 * Byte-level helpers shared by the datagram parser and the stream framer:
 * where the header section ends (RFC 3261 §7: start-line, headers, CRLF,
 * body). Bare LF line ends are tolerated as well as CRLF.
 */

export interface HeaderSectionEnd {
  /** Index of the first byte of the empty line (header bytes are `[start, headEnd)`). */
  headEnd: number;
  /** Index of the first body byte. */
  bodyStart: number;
}

/** Find the empty line ending the header section in `buf[start, end)`, or undefined if not there yet. */
export function findHeaderEnd(buf: Buffer, start: number, end: number): HeaderSectionEnd | undefined {
  let i = start;
  for (;;) {
    const lf = buf.indexOf(0x0a, i);
    if (lf < 0 || lf + 1 >= end) return undefined;
    const next = buf[lf + 1];
    if (next === 0x0a) return { headEnd: lf + 1, bodyStart: lf + 2 };
    if (next === 0x0d) {
      if (lf + 2 >= end) return undefined;
      if (buf[lf + 2] === 0x0a) return { headEnd: lf + 1, bodyStart: lf + 3 };
    }
    i = lf + 1;
  }
}

/**
 * Skip CR / LF bytes before a start-line: RFC 3261 §7.5 says stream receivers
 * MUST ignore CRLFs before the start-line, and RFC 5626 §3.5.1 keep-alives
 * are bare CRLFs. Datagram receivers are treated the same way (lenient).
 */
export function skipLeadingCrlf(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end && (buf[i] === 0x0d || buf[i] === 0x0a)) i++;
  return i;
}
