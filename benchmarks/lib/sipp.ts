/**
 * SIPp as load generator and answering peer. One UAS runs for a whole target;
 * each load step is its own bounded UAC run whose statistics file (`-trace_stat`)
 * gives the call counts and whose `-trace_rtt` file gives one INVITE→200 time
 * per call (SIPp measures rtd in whole milliseconds).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchChild, ChildGroup } from './children.js';

export const SIPP = '/usr/bin/sipp';

export interface SippUasOptions {
  scenarioFile: string;
  address: string;
  port: number;
  mediaPort: number;
  /** SIPp's UDP control port; set so parallel SIPp runs of other people do not race for 8888. */
  controlPort: number;
  workDir: string;
}

export function startSippUas(group: ChildGroup, o: SippUasOptions): BenchChild {
  mkdirSync(o.workDir, { recursive: true });
  return group.spawn(
    'sipp-uas',
    SIPP,
    [
      '-sf', o.scenarioFile,
      '-i', o.address, '-p', String(o.port),
      '-mi', o.address, '-mp', String(o.mediaPort),
      '-cp', String(o.controlPort),
      // A call whose BYE never comes is dropped instead of living forever.
      '-recv_timeout', '30000',
      '-max_recv_loops', '5000',
      '-nostdin',
    ],
    { cwd: o.workDir, logFile: join(o.workDir, 'sipp-uas.log'), discardStdout: true },
  );
}

export interface SippUacOptions {
  scenarioFile: string;
  /** Where the INVITEs go (proxy, B2BUA or the UAS itself). */
  remoteAddress: string;
  remotePort: number;
  /** Request-URI user part (`-s`). */
  service: string;
  address: string;
  port: number;
  mediaPort: number;
  controlPort: number;
  /** Calls per second. */
  rate: number;
  /** Calls to place, then stop. */
  calls: number;
  /** Most simultaneous calls (`-l`). */
  concurrentLimit: number;
  /** Pause between ACK and BYE. */
  holdMs: number;
  /** A response not received within this fails the call. */
  recvTimeoutMs: number;
  /** SIPp quits after this; a hard kill follows 10 s later if it does not. */
  timeoutSeconds: number;
  workDir: string;
  /** Also write -trace_counts (per scenario message: sent, received, retransmitted, timed out); read into `messageCounts`. Default false. */
  traceCounts?: boolean;
  /** Also write -trace_err and read why calls were aborted into `unexpected`. Default false. */
  traceErrors?: boolean;
}

export interface SippUacResult {
  exitCode: number | null;
  /** True when the hard time limit had to kill SIPp. */
  killed: boolean;
  wallSeconds: number;
  created: number;
  successful: number;
  failed: number;
  /** INVITE→200 per successful call, ms. */
  inviteTo200Ms: number[];
  /** When each 200 arrived, ms since SIPp started. */
  answeredAtMs: number[];
  /** With `traceCounts`: the last row of -trace_counts, e.g. {"4_503_Recv": 12, "7_BYE_Recv": 0}; else empty. */
  messageCounts: Record<string, number>;
  /** With `traceErrors`: calls aborted on an unexpected message, by what was expected and what came, e.g. {"expected 200, got 481 (BYE)": 2}; else empty. */
  unexpected: Record<string, number>;
}

/**
 * Count SIPp's "Aborting call on unexpected message" lines of an -trace_err
 * file by what the scenario expected and what arrived (status and CSeq method
 * of a response, or the request's method).
 */
export function unexpectedMessages(errorLog: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = /while expecting '([^']+)'[^,]*, received '(?:SIP\/2\.0 (\d{3})[\s\S]*?CSeq:\s*\d+\s+([A-Z]+)|([A-Z]+) )/g;
  for (const m of errorLog.matchAll(re)) {
    const key = m[2] !== undefined ? `expected ${m[1]}, got ${m[2]} (${m[3]})` : `expected ${m[1]}, got ${m[4]}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** Rows of a `;`-separated SIPp file as objects keyed by the header line. */
function readSemicolonCsv(file: string): Record<string, string>[] {
  const lines = readFileSync(file, 'latin1').split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(';');
  return lines.slice(1).map((line) => {
    const cells = line.split(';');
    const row: Record<string, string> = {};
    header.forEach((name, i) => (row[name] = cells[i] ?? ''));
    return row;
  });
}

function tail(file: string, chars: number): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars).trim();
  } catch {
    return '';
  }
}

/** SIPp exit codes (sipp(1)): 0 all calls passed, 1 some failed, 97/99 clean stops; others are fatal. */
const NORMAL_EXIT = new Set([0, 1, 97, 99]);

export async function runSippUac(group: ChildGroup, o: SippUacOptions): Promise<SippUacResult> {
  mkdirSync(o.workDir, { recursive: true });
  const statFile = join(o.workDir, 'stat.csv');
  const logFile = join(o.workDir, 'sipp-uac.log');
  const started = Date.now();
  const child = group.spawn(
    'sipp-uac',
    SIPP,
    [
      `${o.remoteAddress}:${o.remotePort}`,
      '-sf', o.scenarioFile,
      '-s', o.service,
      '-i', o.address, '-p', String(o.port),
      '-mi', o.address, '-mp', String(o.mediaPort),
      '-cp', String(o.controlPort),
      '-r', String(o.rate), '-rp', '1000',
      '-m', String(o.calls),
      '-l', String(o.concurrentLimit),
      '-d', String(o.holdMs),
      '-recv_timeout', String(o.recvTimeoutMs),
      '-timeout', `${o.timeoutSeconds}s`,
      '-max_recv_loops', '5000',
      '-trace_stat', '-stf', statFile, '-fd', '1',
      '-trace_rtt', '-rtt_freq', '1',
      ...(o.traceCounts === true ? ['-trace_counts'] : []),
      ...(o.traceErrors === true ? ['-trace_err'] : []),
      '-nostdin',
    ],
    { cwd: o.workDir, logFile, discardStdout: true },
  );
  let killed = false;
  const hardLimit = setTimeout(() => {
    killed = true;
    void child.stop(1000);
  }, (o.timeoutSeconds + 10) * 1000);
  const exitCode = await child.exited;
  clearTimeout(hardLimit);
  await child.stop(); // reaps nothing more, but removes it from the group
  const wallSeconds = (Date.now() - started) / 1000;

  if (!killed && (exitCode === null || !NORMAL_EXIT.has(exitCode))) {
    throw new Error(`sipp UAC exited with code ${String(exitCode)}: ${tail(logFile, 600)}`);
  }
  if (!existsSync(statFile)) {
    throw new Error(`sipp UAC wrote no statistics (${statFile}): ${tail(logFile, 600)}`);
  }
  const last = readSemicolonCsv(statFile).at(-1) ?? {};
  const count = (name: string): number => Number(last[name] ?? 0) || 0;

  const inviteTo200Ms: number[] = [];
  const answeredAtMs: number[] = [];
  for (const f of readdirSync(o.workDir).filter((n) => n.endsWith('_rtt.csv'))) {
    for (const row of readSemicolonCsv(join(o.workDir, f))) {
      if (row['rtd_no'] !== '1') continue;
      const at = Number(row['Date_ms']);
      const rtt = Number(row['response_time_ms']);
      if (Number.isFinite(at) && Number.isFinite(rtt)) {
        answeredAtMs.push(at);
        inviteTo200Ms.push(rtt);
      }
    }
  }
  const messageCounts: Record<string, number> = {};
  for (const f of readdirSync(o.workDir).filter((n) => n.endsWith('_counts.csv'))) {
    for (const [name, v] of Object.entries(readSemicolonCsv(join(o.workDir, f)).at(-1) ?? {})) {
      if (/^\d+_/.test(name)) messageCounts[name] = Number(v) || 0;
    }
  }
  const unexpected: Record<string, number> = {};
  for (const f of readdirSync(o.workDir).filter((n) => n.endsWith('_errors.log'))) {
    for (const [k, n] of Object.entries(unexpectedMessages(readFileSync(join(o.workDir, f), 'latin1')))) unexpected[k] = (unexpected[k] ?? 0) + n;
  }
  return {
    exitCode,
    killed,
    wallSeconds,
    created: count('TotalCallCreated'),
    successful: count('SuccessfulCall(C)'),
    failed: count('FailedCall(C)'),
    inviteTo200Ms,
    answeredAtMs,
    messageCounts,
    unexpected,
  };
}
