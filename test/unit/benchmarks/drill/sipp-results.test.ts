import { describe, expect, it } from 'vitest';
import { parseCallLog, parseSippStat, sippTimeToMs } from '../../../../benchmarks/drill/sipp-results.js';

// The header and rows as SIPp 3.6 writes them with -trace_stat (columns cut to those read, plus neighbours).
const HEADER = 'StartTime;LastResetTime;CurrentTime;TotalCallCreated;CurrentCall;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);FailedUnexpectedMessage(P);FailedUnexpectedMessage(C);FailedTimeoutOnRecv(P);FailedTimeoutOnRecv(C);FailedMaxUDPRetrans(C);';
const T0 = '2026-12-07\t00:25:51.480664\t1796603151.480664';
const row = (created: number, ok: number, failed: number, unexpected: number, timeout: number): string =>
  `${T0};${T0};${T0};${created};0;0;${ok};0;${failed};0;${unexpected};0;${timeout};0;`;

describe('SIPp statistics', () => {
  it('takes the totals from the last row: placed, completed, dropped and the failure causes', () => {
    const c = parseSippStat([HEADER, row(10, 8, 0, 0, 0), row(100, 95, 3, 2, 1), ''].join('\n'));
    expect(c).toEqual({
      placed: 100, completed: 95, failed: 3, unfinished: 2, dropped: 5,
      failureCauses: { FailedUnexpectedMessage: 2, FailedTimeoutOnRecv: 1 },
      startedAtMs: 1796603151481,
    });
  });

  it('counts nothing dropped when every call completed', () => {
    const c = parseSippStat(`${HEADER}\n${row(40, 40, 0, 0, 0)}\n`);
    expect(c.dropped).toBe(0);
    expect(c.failureCauses).toEqual({});
  });

  it('refuses a file without a data row', () => {
    expect(() => parseSippStat(HEADER)).toThrow(/no data row/);
    expect(() => parseSippStat('')).toThrow(/no data row/);
  });

  it('reads the epoch part of a SIPp time', () => {
    expect(sippTimeToMs(T0)).toBe(1796603151481);
    expect(sippTimeToMs('00:00:01')).toBeUndefined();
    expect(sippTimeToMs(undefined)).toBeUndefined();
  });
});

describe('the scenario log', () => {
  it('gives one timeline per call on the epoch clock, in placement order', () => {
    const log = ['invite 2 400', 'invite 1 204', 'answered 1 208', 'answered 2 450', 'done 1 3300', 'junk line', 'invite 3 600', ''].join('\n');
    expect(parseCallLog(log, 1_000_000)).toEqual([
      { n: 1, placedAt: 1_000_204, answeredAt: 1_000_208, completedAt: 1_003_300 },
      { n: 2, placedAt: 1_000_400, answeredAt: 1_000_450 },
      { n: 3, placedAt: 1_000_600 },
    ]);
  });

  it('keeps the first time of a repeated line and an answer whose INVITE line is missing', () => {
    const calls = parseCallLog('invite 1 10\ninvite 1 20\nanswered 1 30\nanswered 1 40\nanswered 5 70\n', 0);
    expect(calls).toEqual([
      { n: 1, placedAt: 10, answeredAt: 30 },
      { n: 5, placedAt: 70, answeredAt: 70 },
    ]);
  });
});
