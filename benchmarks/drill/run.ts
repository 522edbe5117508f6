/**
 * `npm run drill -- <kind> <region> [<region-b>] [options]` (issue 11 §6): one
 * failover drill under SIPp load against the RUNNING mesh (`make start`),
 * through the operator API. Prints detection time, recovery time, calls
 * placed / completed / dropped and the media gap, and writes
 * `benchmarks/results/drill-<kind>-<region>[-<region-b>]-<time>.{json,svg}`.
 * Definitions: `analysis.ts` and benchmarks/README.md ("drill").
 *
 * The load: SIPp (`scenarios/uac.xml`) enters the region's SIP address and
 * dials a number homed there (link-cut: homed in region b, so every call
 * crosses the link), at `--rate` calls/s for warmup + duration + after
 * seconds; the callee is SIPp (`failover/scenarios/uas.xml`, RTP echo) on the
 * route's destination (`routes` of the configuration, 127.0.0.1:5090 in the
 * embedded default). `--probes` calls of our own (`media-probe.ts`) send RTP
 * through the same path and time the echo to measure the media gap.
 * Caller addresses: 127.0.0.1, SIPp UAC :5081 (media :24000, control :8971),
 * UAS control :8972, probes SIP :5082+i, RTP :23000+2i.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadConfig, type Config } from '../../infra/config.js';
import { loadRegionCatalog, type RegionCatalog } from '../../regions/catalog.js';
import { ChildGroup } from '../lib/children.js';
import { isListening } from '../lib/readiness.js';
import { SIPP } from '../lib/sipp.js';
import { callSeries, computeRecovery, maxMediaGap, SLOW_ANSWER_MS } from './analysis.js';
import { parseDrillArgs, USAGE, UsageError, type DrillOptions } from './args.js';
import { MediaProbeCall } from './media-probe.js';
import { drillFor, POLL_MS, pollUntil, preflight } from './drills.js';
import { OperatorClient } from './operator-client.js';
import { parseCallLog, parseSippStat } from './sipp-results.js';
import { renderTimeline, type TimelineEvent } from './timeline-svg.js';
import { resultStamp } from '../lib/result-stamp.js';

const CALLER = { address: '127.0.0.1', sipPort: 5081, mediaPort: 24000, controlPort: 8971 };
const UAS_CONTROL_PORT = 8972;
const UAS_MEDIA_PORT = 26000;
const PROBE_SIP_BASE = 5082;
const PROBE_RTP_BASE = 23000;
/** A call without its next message within this fails in SIPp. */
const RECV_TIMEOUT_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const say = (line: string): void => void process.stdout.write(`${line}\n`);
const round = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : Math.round(ms));

function findProjectRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the project root (package.json)');
    dir = up;
  }
  return dir;
}

/** A dialed number homed in `home` by the catalog's rules, avoiding recorded prefixes. */
function numberHomedIn(catalog: RegionCatalog, config: Config, home: string): string {
  const rule = catalog.homeRegionRules.list().find((r) => r.homeRegion === home);
  if (rule === undefined) throw new Error(`the region catalog has no number rule homed in ${home} (homeRegionRules.numbers)`);
  for (let d = 1; d <= 8; d++) {
    const n = `${rule.prefix}${d}234567`;
    if (!config.recording.prefixes.some((p) => n.startsWith(p))) return n;
  }
  throw new Error(`every number under ${rule.prefix} is recorded (recording.prefixes); the drill needs an unrecorded one`);
}

function calleeOf(config: Config, number: string): { address: string; port: number } {
  const route = [...config.routes].sort((a, b) => b.prefix.length - a.prefix.length).find((r) => number.startsWith(r.prefix));
  const m = route === undefined ? null : /^sips?:(?:[^@]+@)?([0-9.]+)(?::(\d+))?/.exec(route.destination);
  if (m === null) throw new Error(`no route with an IPv4 destination for ${number} in the configuration (routes)`);
  return { address: m[1]!, port: Number(m[2] ?? 5060) };
}

function tail(file: string, chars = 600): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars).trim() || `(empty log ${file})`;
  } catch {
    return `(no log ${file})`;
  }
}


async function main(): Promise<number> {
  const root = findProjectRoot();
  const config = loadConfig({ file: process.env.MESH_CONFIG ?? join(root, 'infra', 'config', 'us-east.json') });
  const catalog = loadRegionCatalog(config.regionsFile);
  let opts: DrillOptions;
  try {
    opts = parseDrillArgs(process.argv.slice(2), catalog.regionIds);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`drill: ${e.message}\n${USAGE}\n`);
    return 2;
  }

  const runDir = resolve(root, config.runDir);
  const passwordFile = join(runDir, 'operator-password');
  let password = config.controlPlane.operatorPassword;
  if (password === undefined) {
    try {
      password = readFileSync(passwordFile, 'utf8').trim();
    } catch {
      throw new Error(`no operator password: ${passwordFile} is missing (start the mesh with make start) and OPERATOR_PASSWORD is not set`);
    }
  }
  const client = new OperatorClient(`http://${config.controlPlane.address}:${config.controlPlane.port}`, config.controlPlane.operatorUser, password);
  const home = opts.kind === 'link-cut' ? opts.peer! : opts.region;
  const number = numberHomedIn(catalog, config, home);
  const entry = catalog.region(opts.region).signaling;
  const callee = calleeOf(config, number);
  const nodeId = await preflight(opts, client, catalog, say);
  const drill = drillFor(opts, client, nodeId);
  if (isListening('udp', callee.address, callee.port)) {
    throw new Error(`something already listens on ${callee.address}:${callee.port} (UDP), where the drill's callee must run; stop it first`);
  }

  const work = mkdtempSync(join(tmpdir(), 'mesh-drill-'));
  const group = new ChildGroup();
  const probes: MediaProbeCall[] = [];
  let undoPending = false;
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    if (undoPending && drill.undo !== undefined) {
      // Never leave a link cut or a node drained behind, whatever ended the run.
      try {
        await drill.undo();
        say(opts.kind === 'link-cut' ? `link ${opts.region} – ${opts.peer!} restored` : 'node undrained');
      } catch (e) {
        say(
          opts.kind === 'link-cut'
            ? `could not restore the link: ${(e as Error).message}; restore it by hand: POST /v1/regions/${opts.region}/links/${opts.peer!} {"action":"restore"}`
            : `could not undrain: ${(e as Error).message}; undrain by hand: POST /v1/drills {"action":"undrain","nodeId":…}`,
        );
      }
    }
    for (const p of probes) p.close();
    await group.stopAll();
    if (opts.keep) say(`scratch folder kept: ${work}`);
    else rmSync(work, { recursive: true, force: true });
  };
  process.on('exit', () => {
    group.killAllNow();
    if (!opts.keep && !cleaned) rmSync(work, { recursive: true, force: true });
  });
  const onSignal = (): void => void cleanup().finally(() => process.exit(130));
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    say(`drill: ${drill.describe}; load ${opts.rate} calls/s to ${number} entering ${opts.region} (${entry.address}:${entry.port}), anchored in ${home}; callee ${callee.address}:${callee.port}`);
    group.spawn('sipp-uas', SIPP, [
      '-sf', join(root, 'benchmarks', 'failover', 'scenarios', 'uas.xml'),
      '-i', callee.address, '-p', String(callee.port), '-mi', callee.address, '-mp', String(UAS_MEDIA_PORT), '-rtp_echo',
      '-cp', String(UAS_CONTROL_PORT), '-recv_timeout', '60000', '-nostdin',
    ], { cwd: work, logFile: join(work, 'sipp-uas.log'), discardStdout: true });
    const upBy = Date.now() + 5000;
    while (!isListening('udp', callee.address, callee.port)) {
      if (Date.now() > upBy) throw new Error(`the callee SIPp did not bind ${callee.address}:${callee.port} within 5 s (see ${join(work, 'sipp-uas.log')})`);
      await sleep(50);
    }

    const loadS = opts.warmupS + opts.durationS + opts.afterS;
    const calls = Math.max(1, Math.ceil(opts.rate * loadS));
    const scenario = join(work, 'uac.xml');
    writeFileSync(scenario, readFileSync(join(root, 'benchmarks', 'drill', 'scenarios', 'uac.xml'), 'utf8').replaceAll('__HOLD_MS__', String(opts.holdMs)));
    const uacDir = join(work, 'uac');
    mkdirSync(uacDir);
    const statFile = join(uacDir, 'stat.csv');
    const timeoutS = Math.ceil(loadS + RECV_TIMEOUT_MS / 1000 + opts.holdMs / 1000 + 30);
    const uacSpawnedAt = Date.now();
    const uac = group.spawn('sipp-uac', SIPP, [
      `${entry.address}:${entry.port}`, '-sf', scenario, '-s', number,
      '-i', CALLER.address, '-p', String(CALLER.sipPort), '-mi', CALLER.address, '-mp', String(CALLER.mediaPort), '-cp', String(CALLER.controlPort),
      '-r', String(opts.rate), '-rp', '1000', '-m', String(calls),
      '-l', String(Math.ceil(opts.rate * (opts.holdMs / 1000 + RECV_TIMEOUT_MS / 1000 + 10)) + 10),
      '-recv_timeout', String(RECV_TIMEOUT_MS), '-timeout', `${timeoutS}s`, '-max_recv_loops', '5000',
      '-trace_stat', '-stf', statFile, '-fd', '1', '-trace_logs', '-trace_err', '-nostdin',
    ], { cwd: uacDir, logFile: join(uacDir, 'sipp-uac.log'), discardStdout: true });
    const hardLimit = setTimeout(() => void uac.stop(1000), (timeoutS + 10) * 1000);

    // Probe calls: placed during the warm-up, up until the load ends.
    const probeNotes: string[] = [];
    await sleep(Math.min(1000, opts.warmupS * 500));
    for (let i = 0; i < opts.probes; i++) {
      try {
        probes.push(await MediaProbeCall.start({
          id: i, localAddress: CALLER.address, sipPort: PROBE_SIP_BASE + i, rtpPort: PROBE_RTP_BASE + 2 * i,
          target: entry, service: number, answerTimeoutMs: 5000,
        }));
      } catch (e) {
        probeNotes.push((e as Error).message);
      }
    }
    const probeNodes = probes.map((p) => p.mediaAddressAtAnswer);
    // No drill without load: a SIPp that could not start (port taken, bad scenario) stops the run here.
    if (uac.hasExited()) throw new Error(`the SIPp caller exited before the drill: ${tail(join(uacDir, 'sipp-uac.log'))}`);

    const drillAt = uacSpawnedAt + opts.warmupS * 1000;
    await sleep(Math.max(0, drillAt - Date.now()));
    const drillStart = Date.now();
    if (drill.undo !== undefined) undoPending = true;
    await drill.act();
    say(`drill started at ${new Date(drillStart).toISOString()}: ${drill.describe}`);
    const loadEnd = uacSpawnedAt + loadS * 1000;
    const detecting = pollUntil(drill.detected, drillStart, drillStart + (opts.durationS + opts.afterS) * 1000);
    let restoreMs: number | undefined;
    let restoredSeenMs: number | undefined;
    if (drill.undo !== undefined) {
      await sleep(Math.max(0, drillStart + opts.durationS * 1000 - Date.now()));
      restoreMs = Date.now() - drillStart;
      await drill.undo();
      undoPending = false;
      const restoreSent = Date.now();
      const seen = await pollUntil(drill.undone!, restoreSent, restoreSent + opts.afterS * 1000);
      restoredSeenMs = seen === undefined ? undefined : restoreSent + seen - drillStart;
      say(`${opts.kind === 'link-cut' ? 'link restored' : 'node undrained'} after ${restoreMs} ms`);
    }
    const detectionMs = await detecting;
    await sleep(Math.max(0, loadEnd - Date.now()));
    const probeEnds = await Promise.all(probes.map((p) => p.hangup()));
    const exitCode = await uac.exited;
    clearTimeout(hardLimit);
    // SIPp exit codes (sipp(1)): 0 all calls passed, 1 some failed, 97/99 clean stops; others are fatal.
    if (exitCode !== null && ![0, 1, 97, 99].includes(exitCode)) throw new Error(`the SIPp caller exited with code ${exitCode}: ${tail(join(uacDir, 'sipp-uac.log'))}`);

    if (!existsSync(statFile)) throw new Error(`SIPp wrote no statistics (see ${join(uacDir, 'sipp-uac.log')})`);
    const counts = parseSippStat(readFileSync(statFile, 'latin1'));
    const logFile = readdirSync(uacDir).find((f) => f.endsWith('_logs.log'));
    const timeline = parseCallLog(logFile === undefined ? '' : readFileSync(join(uacDir, logFile), 'latin1'), counts.startedAtMs ?? uacSpawnedAt);
    const recovery = computeRecovery(timeline, drillStart);
    const series = callSeries(timeline, drillStart, uacSpawnedAt - drillStart, Math.max(...timeline.map((c) => c.completedAt ?? c.answeredAt ?? c.placedAt), loadEnd) - drillStart + 1);
    const gaps = probes.map((p, i) => {
      const g = maxMediaGap(p.arrivals, probeEnds[i]!);
      const node = catalog.mediaNodes().find((n) => n.address === probeNodes[i])?.id ?? probeNodes[i] ?? null;
      return {
        probe: i,
        mediaNodeAtAnswer: node,
        packets: g.packets,
        maxGapMs: Math.round(g.maxGapMs),
        gapStartMs: round(g.gapStartedAt === undefined ? undefined : g.gapStartedAt - drillStart),
        resumed: g.resumed,
        reinvites: p.reinvites,
        endedByPlatform: p.endedByPlatformAt !== undefined,
      };
    });
    const mediaGapMs = gaps.length === 0 ? undefined : Math.max(...gaps.map((g) => g.maxGapMs));

    const startedAt = new Date(drillStart);
    const name = `drill-${opts.kind}-${opts.region}${opts.peer === undefined ? '' : `-${opts.peer}`}-${resultStamp(startedAt)}`;
    const notes = [...probeNotes];
    if (opts.kind === 'media-kill') notes.push(`${nodeId} stays dead: make start does not restart a killed rtpengine; restart the mesh to get it back.`);
    if (gaps.length > 0 && opts.kind === 'media-kill' && !gaps.some((g) => g.mediaNodeAtAnswer === nodeId)) notes.push(`no probe call was on ${nodeId}, so the media gap does not show the kill; try more --probes.`);
    const report = {
      name,
      kind: opts.kind,
      region: opts.region,
      ...(opts.peer === undefined ? {} : { peer: opts.peer }),
      ...(nodeId === undefined ? {} : { nodeId }),
      drillStartAt: startedAt.toISOString(),
      machine: { cpus: cpus().length, loadavg: loadavg().map((x) => +x.toFixed(2)) },
      load: {
        ratePerSecond: opts.rate, warmupS: opts.warmupS, durationS: opts.durationS, afterS: opts.afterS, holdMs: opts.holdMs,
        number, entry: `${entry.address}:${entry.port}`, homeRegion: home, callee: `${callee.address}:${callee.port}`,
      },
      detectionMs: detectionMs === undefined ? null : detectionMs,
      recoveryMs: round(recovery.recoveryMs) ?? null,
      ...(restoreMs === undefined ? {} : { restoreMs, restoredSeenMs: restoredSeenMs ?? null }),
      calls: {
        placed: counts.placed, completed: counts.completed, dropped: counts.dropped, failed: counts.failed, unfinished: counts.unfinished,
        failureCauses: counts.failureCauses, placedAfterDrillStart: recovery.placedAfterStart, notCompletedAfterDrillStart: recovery.notCompletedAfterStart,
        answeredLateAfterDrillStart: recovery.lateAfterStart,
        lastFailurePlacedMs: round(recovery.lastFailurePlacedMs) ?? null,
      },
      media: { maxGapMs: mediaGapMs ?? null, probes: gaps },
      series,
      definitions: {
        detectionMs: `drill start (just before the drill request) → first answer of the operator API (polled every ${POLL_MS} ms) showing the change`,
        recoveryMs: `drill start → earliest 200 OK among the calls placed after the drill start from which on every placed call was served: completed and answered within ${SLOW_ANSWER_MS} ms of its INVITE (null: not recovered)`,
        restoredSeenMs: 'link-cut: drill start → the operator API shows the link open again after the restore',
        dropped: 'placed − completed (SIPp: TotalCallCreated − SuccessfulCall)',
        mediaGap: 'longest time between two RTP packets a probe call got back (its own 20 ms stream, echoed by the callee)',
      },
      notes,
    };
    const outDir = join(root, 'benchmarks', 'results');
    mkdirSync(outDir, { recursive: true });
    const events: TimelineEvent[] = [{ label: 'drill start', t: 0, color: '#000' }];
    if (detectionMs !== undefined) events.push({ label: 'detection', t: detectionMs / 1000, color: '#9467bd' });
    if (restoreMs !== undefined) events.push({ label: 'restore', t: restoreMs / 1000, color: '#ff7f0e' });
    if (recovery.recoveryMs !== undefined) events.push({ label: 'recovery', t: recovery.recoveryMs / 1000, color: '#2ca02c' });
    const svg = renderTimeline({
      title: `${opts.kind} ${opts.region}${opts.peer === undefined ? '' : ` – ${opts.peer}`} at ${opts.rate} calls/s (${startedAt.toISOString()})`,
      fromS: series[0]?.t ?? -opts.warmupS,
      toS: (series.at(-1)?.t ?? 0) + 1,
      series,
      events,
      ...(restoreMs === undefined ? {} : { phase: { fromS: 0, toS: restoreMs / 1000, label: 'link cut' } }),
    });
    writeFileSync(join(outDir, `${name}.json`), JSON.stringify(report, null, 2) + '\n');
    writeFileSync(join(outDir, `${name}.svg`), svg);

    const ms = (v: number | undefined | null): string => (v === undefined || v === null ? 'not seen' : `${Math.round(v)} ms`);
    say('');
    say(`${opts.kind} ${opts.region}${opts.peer === undefined ? '' : ` – ${opts.peer}`}${nodeId === undefined ? '' : ` (${nodeId})`}`);
    say(`  detection time:  ${ms(detectionMs)}`);
    if (restoreMs !== undefined) say(`  ${opts.kind === 'link-cut' ? 'link restored: ' : 'undrained:     '}  sent at ${restoreMs} ms, seen ${opts.kind === 'link-cut' ? 'open' : 'serving'} at ${ms(restoredSeenMs)}`);
    say(`  recovery time:   ${recovery.recoveryMs === undefined ? 'not recovered' : ms(recovery.recoveryMs)}`);
    say(`  calls:           placed ${counts.placed}, completed ${counts.completed}, dropped ${counts.dropped}${recovery.lateAfterStart > 0 ? `, answered late (> ${SLOW_ANSWER_MS} ms) ${recovery.lateAfterStart}` : ''}${Object.keys(counts.failureCauses).length > 0 ? ` (${Object.entries(counts.failureCauses).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`);
    say(`  media gap:       ${mediaGapMs === undefined ? 'not measured (no probe call)' : `${mediaGapMs} ms max over ${gaps.length} probe calls (${gaps.map((g) => `${g.mediaNodeAtAnswer ?? '?'} ${g.maxGapMs} ms`).join(', ')})`}`);
    for (const n of notes) say(`  note: ${n}`);
    say(`  results:         ${join('benchmarks', 'results', `${name}.json`)}, ${name}.svg`);
    return 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`drill failed: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
