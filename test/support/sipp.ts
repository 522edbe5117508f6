/**
 * Drive SIPp from tests: `runSipp` runs one instance to completion (a UAC
 * placing N calls), `startSipp` keeps one running (a UAS answering calls)
 * until `stop()`. Each run gets its own temp working directory for SIPp's
 * trace files, never reads stdin, never shows an interactive screen, and is
 * killed when it outlives its timeout: a test can fail but never hang.
 *
 * Counts come from SIPp's -trace_stat CSV (last row = cumulative totals),
 * falling back to the final statistics screen SIPp prints on exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MeshError } from '../../regions/core/errors.js';
import { waitForPortBound } from './ports.js';
import { parseScenarioScreen, parseStatCsv, screenCounter, type SippScreenRow } from './sipp-output.js';

export { parseScenarioScreen, parseStatCsv, screenCounter, type SippScreenRow };

/** Folder of the checked-in scenarios (test/sipp). */
export const SIPP_SCENARIO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'sipp');

/** Scenarios compiled into SIPp, selected with -sn. */
const BUILT_IN_SCENARIOS = new Set(['uac', 'uas', 'regexp', 'branchc', 'branchs', 'uac_pcap']);

export type SippTransport = 'u1' | 'un' | 't1' | 'tn';

export interface SippOptions {
  /** File under test/sipp ('uac-basic.xml' or 'uac-basic'), an absolute path, or a built-in ('uac', 'uas'). Default 'uac'. */
  scenario?: string;
  /** Remote host:port (SIPp's positional argument). Omit for a UAS. */
  target?: string;
  /** -i and -bind_local: SIP source/listen address; also -ci (control socket) so instances never share one. */
  localAddress: string;
  /** -p. Default: SIPp picks (5060 if free on localAddress). Required by startSipp. */
  localPort?: number;
  /** -mi. Default localAddress. */
  mediaAddress?: string;
  /** -mp: RTP port in the SDP (SIPp binds it and +2). Default SIPp's 6000: give one when two instances share an address. */
  mediaPort?: number;
  /** -rtp_echo: echo RTP arriving on mediaPort (and +2) to its sender. Default false. */
  rtpEcho?: boolean;
  /** -s: Request-URI user part. Default SIPp's 'service'. */
  service?: string;
  /** -m: stop after this many calls. Default: unlimited (a UAS runs until stop()). */
  calls?: number;
  /** -r: calls per rate period. Default SIPp's 10. */
  rate?: number;
  /** -rp: rate period in ms. Default 1000. */
  ratePeriodMs?: number;
  /** -l: max simultaneous calls. */
  limit?: number;
  /** -t. Default 'u1'. */
  transport?: SippTransport;
  /** -lost: percentage of packets SIPp drops on purpose. */
  lostPercent?: number;
  /** -d: duration of every <pause/> without its own length (uac-nomedia hold time, uas-bye delay). */
  callDurationMs?: number;
  /** -recv_timeout: a call waiting longer than this for an expected message fails. */
  recvTimeoutMs?: number;
  /** -key name value, for [name] in the scenario's messages. */
  keys?: Record<string, string>;
  /** Appended last, verbatim. */
  extraArgs?: string[];
  /** Hard limit: SIGINT (SIPp writes its stats) then SIGKILL 2 s later. */
  timeoutMs: number;
  /** Kept for API symmetry: statistics are always traced (-trace_stat), they are where the counts come from. */
  traceStats?: boolean;
  /** -trace_rtt with -rtt_freq 1: fills `responseTimesMs`. */
  traceRtt?: boolean;
  /** -trace_logs: fills `logLines` with the scenario's <log> actions. */
  traceLogs?: boolean;
  /** -trace_msg: every SIP message in `workDir`/messages.log (implies keepWorkDir for reading it). */
  traceMessages?: boolean;
  /** Keep the temp working dir after the run (its path is in the result). Default false. */
  keepWorkDir?: boolean;
}

export interface SippResult {
  /** Exit code: 0 all calls OK, 1 some failed, 97 internal stop, 99 no call processed, 255/254 fatal; null when killed by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** True when timeoutMs elapsed and we stopped SIPp. */
  timedOut: boolean;
  successfulCalls: number;
  failedCalls: number;
  /** Calls created (incoming + outgoing). */
  createdCalls: number;
  /** Calls still open when SIPp exited. */
  currentCalls: number;
  retransmissions: number;
  /** Last row of the -trace_stat CSV by column name (cumulative columns end in '(C)'); empty if none was written. */
  stats: Record<string, string>;
  /** Per-message counters of the final scenario screen, in scenario order. */
  screen: SippScreenRow[];
  /** Response times (ms) when traceRtt. */
  responseTimesMs: number[];
  /** <log> lines when traceLogs. */
  logLines: string[];
  /** Unexpected-message / error log (bounded tail), always traced. */
  errorsTail: string;
  stdoutTail: string;
  stderrTail: string;
  durationMs: number;
  args: string[];
  /** Set when keepWorkDir or traceMessages; otherwise the dir is already deleted. */
  workDir: string | undefined;
}

export interface SippInstance {
  /** Resolves once SIPp has bound localAddress:localPort; rejects if it exits or takes over 5 s. */
  ready: Promise<void>;
  pid: number | undefined;
  /** Graceful stop (SIGUSR1: no new calls, open calls finish), SIGINT after graceMs (default 2000), SIGKILL 2 s later. Idempotent. */
  stop(graceMs?: number): Promise<SippResult>;
}

const TAIL_BYTES = 16 * 1024;
const KILL_AFTER_INT_MS = 2000;
const READY_TIMEOUT_MS = 5000;

/** Resolve a scenario option to SIPp's -sf/-sn arguments. */
export function scenarioArgs(scenario: string | undefined): string[] {
  const name = scenario ?? 'uac';
  if (BUILT_IN_SCENARIOS.has(name)) return ['-sn', name];
  if (isAbsolute(name)) return ['-sf', name];
  return ['-sf', join(SIPP_SCENARIO_DIR, name.endsWith('.xml') ? name : `${name}.xml`)];
}

/** The full SIPp command line (without the binary) for `opts`, tracing into `workDir`. */
export function buildSippArgs(opts: SippOptions, workDir: string): string[] {
  const args: string[] = [];
  if (opts.target !== undefined) args.push(opts.target);
  args.push(...scenarioArgs(opts.scenario));
  args.push('-i', opts.localAddress, '-bind_local', '-ci', opts.localAddress);
  if (opts.localPort !== undefined) args.push('-p', String(opts.localPort));
  args.push('-mi', opts.mediaAddress ?? opts.localAddress);
  if (opts.mediaPort !== undefined) args.push('-mp', String(opts.mediaPort));
  if (opts.rtpEcho === true) args.push('-rtp_echo');
  if (opts.service !== undefined) args.push('-s', opts.service);
  if (opts.calls !== undefined) args.push('-m', String(opts.calls));
  if (opts.rate !== undefined) args.push('-r', String(opts.rate));
  if (opts.ratePeriodMs !== undefined) args.push('-rp', String(opts.ratePeriodMs));
  if (opts.limit !== undefined) args.push('-l', String(opts.limit));
  if (opts.transport !== undefined) args.push('-t', opts.transport);
  if (opts.lostPercent !== undefined) args.push('-lost', String(opts.lostPercent));
  if (opts.callDurationMs !== undefined) args.push('-d', String(opts.callDurationMs));
  if (opts.recvTimeoutMs !== undefined) args.push('-recv_timeout', String(opts.recvTimeoutMs));
  for (const [key, value] of Object.entries(opts.keys ?? {})) args.push('-key', key, value);
  args.push('-nostdin');
  args.push('-trace_stat', '-stf', join(workDir, 'stats.csv'), '-fd', '1');
  args.push('-trace_screen', '-screen_file', join(workDir, 'screen.log'));
  args.push('-trace_err', '-error_file', join(workDir, 'errors.log'));
  if (opts.traceRtt === true) args.push('-trace_rtt', '-rtt_freq', '1');
  if (opts.traceLogs === true) args.push('-trace_logs', '-log_file', join(workDir, 'logs.log'));
  if (opts.traceMessages === true) args.push('-trace_msg', '-message_file', join(workDir, 'messages.log'));
  args.push(...(opts.extraArgs ?? []));
  return args;
}

/** A bounded byte tail of a stream (last `TAIL_BYTES`). */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > TAIL_BYTES && this.chunks.length > 1) {
      this.size -= this.chunks.shift()?.length ?? 0;
    }
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - TAIL_BYTES)).toString('utf8');
  }
}

async function readIfExists(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

async function collectResult(
  opts: SippOptions,
  workDir: string,
  args: string[],
  exit: { code: number | null; signal: NodeJS.Signals | null },
  timedOut: boolean,
  startedAt: number,
  stdout: Tail,
  stderr: Tail,
): Promise<SippResult> {
  const stats = parseStatCsv(await readIfExists(join(workDir, 'stats.csv')));
  const screenLog = await readIfExists(join(workDir, 'screen.log'));
  const stdoutText = stdout.text();
  // The screen file is only written on a normal exit; after SIGINT the final screen is on stdout.
  const screenText = screenLog.includes('Scenario Screen') ? screenLog : stdoutText;
  const num = (col: string, screenLabel?: string): number => {
    const v = stats[col];
    if (v !== undefined && v !== '') return Number(v);
    return screenLabel === undefined ? 0 : (screenCounter(screenText, screenLabel) ?? 0);
  };
  const responseTimesMs: number[] = [];
  if (opts.traceRtt === true) {
    for (const f of (await readdir(workDir)).filter((n) => n.endsWith('_rtt.csv'))) {
      for (const line of (await readIfExists(join(workDir, f))).split('\n').slice(1)) {
        const ms = line.split(';')[1];
        if (ms !== undefined && ms !== '') responseTimesMs.push(Number(ms));
      }
    }
  }
  const logLines =
    opts.traceLogs === true
      ? (await readIfExists(join(workDir, 'logs.log'))).split('\n').filter((l) => l !== '')
      : [];
  const errors = await readIfExists(join(workDir, 'errors.log'));
  const keep = opts.keepWorkDir === true || opts.traceMessages === true;
  if (!keep) await rm(workDir, { recursive: true, force: true });
  return {
    exitCode: exit.code,
    signal: exit.signal,
    timedOut,
    successfulCalls: num('SuccessfulCall(C)', 'Successful call'),
    failedCalls: num('FailedCall(C)', 'Failed call'),
    createdCalls: num('TotalCallCreated', 'Total Calls created'),
    currentCalls: num('CurrentCall'),
    retransmissions: num('Retransmissions(C)'),
    stats,
    screen: parseScenarioScreen(screenText),
    responseTimesMs,
    logLines,
    errorsTail: errors.slice(-TAIL_BYTES),
    stdoutTail: stdoutText,
    stderrTail: stderr.text(),
    durationMs: Date.now() - startedAt,
    args,
    workDir: keep ? workDir : undefined,
  };
}

/** Spawned SIPp plus what a stop needs. */
interface Spawned {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  result: (timedOut: boolean) => Promise<SippResult>;
  isExited: () => boolean;
}

async function spawnSipp(opts: SippOptions): Promise<Spawned> {
  const workDir = await mkdtemp(join(tmpdir(), 'sipp-'));
  const args = buildSippArgs(opts, workDir);
  const startedAt = Date.now();
  const child = spawn('sipp', args, { cwd: workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout = new Tail();
  const stderr = new Tail();
  child.stdout?.on('data', (c: Buffer) => stdout.push(c));
  child.stderr?.on('data', (c: Buffer) => stderr.push(c));
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('error', (err) => {
      done = true;
      stderr.push(Buffer.from(`spawn error: ${err.message}\n`));
      resolveExit({ code: null, signal: null });
    });
    child.once('close', (code, signal) => {
      done = true;
      resolveExit({ code, signal });
    });
  });
  let collected: Promise<SippResult> | undefined;
  return {
    child,
    exited,
    isExited: () => done,
    result: (timedOut) => {
      collected ??= exited.then((exit) =>
        collectResult(opts, workDir, args, exit, timedOut, startedAt, stdout, stderr),
      );
      return collected;
    },
  };
}

/** SIGINT makes SIPp stop at once yet still print its final screens; SIGKILL if it ignores that. */
async function interrupt(s: Spawned): Promise<void> {
  if (s.isExited()) return;
  s.child.kill('SIGINT');
  const killTimer = setTimeout(() => {
    if (!s.isExited()) s.child.kill('SIGKILL');
  }, KILL_AFTER_INT_MS);
  await s.exited;
  clearTimeout(killTimer);
}

/** Run SIPp to completion (or until timeoutMs) and report its counts. Never rejects for call failures. */
export async function runSipp(opts: SippOptions): Promise<SippResult> {
  const s = await spawnSipp(opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void interrupt(s);
  }, opts.timeoutMs);
  await s.exited;
  clearTimeout(timer);
  return s.result(timedOut);
}

/**
 * Start a long-running SIPp (typically a UAS). `ready` resolves when its SIP
 * port is bound. It is also stopped after `timeoutMs` if stop() was never called.
 */
export async function startSipp(opts: SippOptions): Promise<SippInstance> {
  const port = opts.localPort;
  if (port === undefined) throw new MeshError('BAD_REQUEST', 'startSipp needs localPort to know when SIPp is ready');
  const s = await spawnSipp(opts);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void interrupt(s);
  }, opts.timeoutMs);
  void s.exited.then(() => clearTimeout(timer));

  const exitAbort = new AbortController();
  void s.exited.then(() => exitAbort.abort());
  const protocol = opts.transport?.startsWith('t') === true ? 'tcp' : 'udp';
  const ready = waitForPortBound(opts.localAddress, port, protocol, READY_TIMEOUT_MS, exitAbort.signal).catch(
    async (err: unknown) => {
      const r = s.isExited() ? await s.result(timedOut) : undefined;
      throw new MeshError('INTERNAL', `SIPp did not become ready on ${opts.localAddress}:${port}`, {
        cause: err,
        detail: { stderr: r?.stderrTail ?? '', exitCode: r?.exitCode ?? null, args: r?.args ?? [] },
      });
    },
  );
  // A caller that never awaits `ready` must not see an unhandled rejection.
  ready.catch(() => undefined);

  let stopping: Promise<SippResult> | undefined;
  const stop = (graceMs = 2000): Promise<SippResult> => {
    stopping ??= (async () => {
      if (!s.isExited()) {
        // SIGUSR1 = SIPp's soft exit: no new calls, open calls run to their end.
        s.child.kill('SIGUSR1');
        const graceTimer = setTimeout(() => void interrupt(s), graceMs);
        await s.exited;
        clearTimeout(graceTimer);
      }
      clearTimeout(timer);
      return s.result(timedOut);
    })();
    return stopping;
  };
  return { ready, pid: s.child.pid, stop };
}
