/**
 * What SIPp tells about the drill's load, parsed from its files (pure: text in,
 * figures out):
 *
 * - the statistics file (`-trace_stat -stf FILE`, `;`-separated, one row per
 *   `-fd` period; the cumulative `(C)` counters of the last row are the run's
 *   totals) → calls placed / completed / dropped and SIPp's failure causes;
 * - the scenario's log (`-trace_logs`; `scenarios/uac.xml` writes `invite N T`
 *   before each INVITE, `answered N T` at its 200 and `done N T` at the 200 to
 *   its BYE, T = SIPp's clock tick, ms since SIPp started) → one timeline per call.
 */

export interface SippCounts {
  /** Calls SIPp created (INVITEs sent), `TotalCallCreated`. */
  placed: number;
  /** Calls that ran the whole scenario (INVITE … 200 to BYE), `SuccessfulCall(C)`. */
  completed: number;
  /** Calls SIPp counted as failed, `FailedCall(C)`. */
  failed: number;
  /** Placed and neither completed nor failed when SIPp stopped. */
  unfinished: number;
  /** Every placed call that did not complete: failed + unfinished. */
  dropped: number;
  /** SIPp's failure causes with a non-zero count (`FailedTimeoutOnRecv`, `FailedUnexpectedMessage`, …). */
  failureCauses: Record<string, number>;
  /** When SIPp started (its `StartTime`), ms since the epoch; the base of the log's clock ticks. */
  startedAtMs: number | undefined;
}

/** Rows of a `;`-separated SIPp file as objects keyed by the header line. */
export function parseSemicolonRows(text: string): Record<string, string>[] {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(';');
  return lines.slice(1).map((line) => {
    const cells = line.split(';');
    const row: Record<string, string> = {};
    header.forEach((name, i) => {
      if (name !== '') row[name] = cells[i] ?? '';
    });
    return row;
  });
}

/** SIPp writes times as `date<TAB>time<TAB>epoch-seconds.micro`; the epoch part in ms. */
export function sippTimeToMs(cell: string | undefined): number | undefined {
  const epoch = Number((cell ?? '').split('\t')[2]);
  return Number.isFinite(epoch) && epoch > 0 ? Math.round(epoch * 1000) : undefined;
}

/** The run's totals from the statistics file; throws when it holds no data row. */
export function parseSippStat(text: string): SippCounts {
  const rows = parseSemicolonRows(text);
  const last = rows.at(-1);
  if (last === undefined || last['TotalCallCreated'] === undefined) throw new Error('SIPp statistics file has no data row');
  const count = (name: string): number => {
    const v = Number(last[name] ?? 0);
    return Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
  };
  const placed = count('TotalCallCreated');
  const completed = count('SuccessfulCall(C)');
  const failed = count('FailedCall(C)');
  const failureCauses: Record<string, number> = {};
  for (const name of Object.keys(last)) {
    const m = /^(Failed.+)\(C\)$/.exec(name);
    if (m === null || m[1] === 'FailedCall') continue;
    const n = count(name);
    if (n > 0) failureCauses[m[1]!] = n;
  }
  const unfinished = Math.max(0, placed - completed - failed);
  return { placed, completed, failed, unfinished, dropped: placed - Math.min(placed, completed), failureCauses, startedAtMs: sippTimeToMs(last['StartTime']) };
}

/** One call of the load as the scenario's log saw it; times in ms since the epoch. */
export interface CallTimeline {
  n: number;
  placedAt: number;
  answeredAt?: number;
  completedAt?: number;
}

const LOG_LINE = /^(invite|answered|done) (\d+) (\d+(?:\.\d+)?)\s*$/;

/** Per-call timelines from the scenario's log; `baseMs` is SIPp's start (clock tick 0). Sorted by placement. */
export function parseCallLog(text: string, baseMs: number): CallTimeline[] {
  const calls = new Map<number, CallTimeline>();
  for (const line of text.split('\n')) {
    const m = LOG_LINE.exec(line.trim());
    if (m === null) continue;
    const n = Number(m[2]);
    const at = baseMs + Number(m[3]);
    let c = calls.get(n);
    if (m[1] === 'invite') {
      // A retransmitted or repeated line keeps the first time.
      if (c === undefined) calls.set(n, { n, placedAt: at });
      continue;
    }
    if (c === undefined) {
      // An answer whose INVITE line is missing (log cut short): keep it, placed when answered.
      c = { n, placedAt: at };
      calls.set(n, c);
    }
    if (m[1] === 'answered') c.answeredAt ??= at;
    else c.completedAt ??= at;
  }
  return [...calls.values()].sort((a, b) => a.placedAt - b.placedAt || a.n - b.n);
}
