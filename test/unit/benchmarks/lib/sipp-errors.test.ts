/** benchmarks/lib/sipp.ts: why SIPp aborted calls, read from its -trace_err file. */
import { describe, expect, it } from 'vitest';
import { unexpectedMessages } from '../../../../benchmarks/lib/sipp.js';

const entry = (expecting: string, received: string): string =>
  `2026-12-07\t00:53:56.822188\t1796604836.822188: Aborting call on unexpected message for Call-Id '7-1@127.0.10.2': while expecting '${expecting}' (index 10), received '${received}'\n\n`;

describe('unexpectedMessages', () => {
  it('counts aborted calls by what was expected and what came', () => {
    const log481 = entry('200', 'SIP/2.0 481 Call/Transaction Does Not Exist\r\nVia: SIP/2.0/UDP 127.0.10.2:5070\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n');
    const log503 = entry('200', 'SIP/2.0 503 Service Unavailable\r\nCSeq: 1 INVITE\r\n\r\n');
    const request = entry('INVITE', 'BYE sip:carrier@127.0.10.2:5070 SIP/2.0\r\nCSeq: 3 BYE\r\n\r\n');
    expect(unexpectedMessages(log481 + log481 + log503 + request + 'receive timeout on message uac:7\n')).toEqual({
      'expected 200, got 481 (BYE)': 2,
      'expected 200, got 503 (INVITE)': 1,
      'expected INVITE, got BYE': 1,
    });
  });

  it('finds nothing in a log without aborted calls', () => {
    expect(unexpectedMessages('')).toEqual({});
  });
});
