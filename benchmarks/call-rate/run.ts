/**
 * Call-rate benchmark: SIPp UAC → target → SIPp UAS at rising call rates,
 * for three targets in one run (direct, Kamailio + rtpengine, our B2BUA +
 * rtpengine). Writes benchmarks/results/call-rate-<stamp>.{json,md} (or
 * call-rate-quick-<stamp>.* with --quick; a new pair per run) and prints a summary.
 *
 *   npx tsx benchmarks/call-rate/run.ts [--quick] [--targets direct,kamailio,b2bua]
 *       [--rates 50,100,200] [--step-seconds 10] [--hold-ms 1000] [--warm-up-seconds 10] [--keep]
 *       [--overload-base CPS | --no-overload]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ChildGroup } from '../lib/children.js';
import { waitForListener } from '../lib/readiness.js';
import { startSippUas } from '../lib/sipp.js';
import { runLadder } from './ladder.js';
import { runOverload } from './overload.js';
import { ADDRESSES, FULL_LADDER, QUICK_LADDER, type LadderSettings } from './plan.js';
import { compareTargets, renderMarkdown, skippedTarget, summarizeTarget, type CallRateReport, type TargetReport } from './report.js';
import { ALL_TARGETS, type RunningTarget, type TargetName } from './targets.js';
import { resultStamp } from '../lib/result-stamp.js';

const log = (line: string): void => console.log(line);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The folder holding package.json, found upward from this file (works from source and from dist/). */
function findProjectRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the project root (package.json)');
    dir = up;
  }
  return dir;
}

function versionOf(cmd: string, args: string[], pattern: RegExp): string {
  // Some of these print their version on stderr, some exit non-zero after printing it.
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  return pattern.exec(`${r.stdout ?? ''}\n${r.stderr ?? ''}`)?.[1] ?? 'unknown';
}

function parseNumberList(s: string, what: string): number[] {
  const list = s.split(',').map((x) => Number(x.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`--${what}: positive integers, comma-separated`);
  return list;
}

/** Targets the overload steps run against: the proxies (the direct baseline has nothing to shed). */
const OVERLOAD_TARGETS: readonly TargetName[] = ['kamailio', 'b2bua'];

interface Cli {
  quick: boolean;
  keep: boolean;
  targets: TargetName[];
  settings: LadderSettings;
  /** false: no overload steps; a number: their base rate for every target; undefined: each target's max sustained rate. */
  overloadBase: number | false | undefined;
}

function parseCli(): Cli {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      targets: { type: 'string' },
      rates: { type: 'string' },
      'step-seconds': { type: 'string' },
      'hold-ms': { type: 'string' },
      'warm-up-seconds': { type: 'string' },
      'overload-base': { type: 'string' },
      'no-overload': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help === true) {
    console.log('usage: npx tsx benchmarks/call-rate/run.ts [--quick] [--targets direct,kamailio,b2bua] [--rates 50,100] [--step-seconds N] [--hold-ms N] [--warm-up-seconds N] [--keep] [--overload-base CPS | --no-overload]');
    process.exit(0);
  }
  const quick = values.quick === true;
  const settings: LadderSettings = { ...(quick ? QUICK_LADDER : FULL_LADDER) };
  if (values.rates !== undefined) settings.rates = parseNumberList(values.rates, 'rates').sort((a, b) => a - b);
  if (values['step-seconds'] !== undefined) settings.stepSeconds = parseNumberList(values['step-seconds'], 'step-seconds')[0] ?? settings.stepSeconds;
  if (values['warm-up-seconds'] !== undefined) {
    const w = Number(values['warm-up-seconds']);
    if (!Number.isInteger(w) || w < 0 || w > 600) throw new Error('--warm-up-seconds: an integer from 0 to 600');
    settings.warmUpSeconds = w;
  }
  if (values['hold-ms'] !== undefined) {
    const h = Number(values['hold-ms']);
    if (!Number.isInteger(h) || h < 0) throw new Error('--hold-ms: a non-negative integer');
    settings.holdMs = h;
  }
  const known = ALL_TARGETS.map((t) => t.name);
  const targets = (values.targets?.split(',').map((t) => t.trim()) ?? known) as TargetName[];
  for (const t of targets) if (!known.includes(t)) throw new Error(`--targets: unknown target ${t} (known: ${known.join(', ')})`);
  const overloadBase =
    values['no-overload'] === true ? false : values['overload-base'] === undefined ? undefined : parseNumberList(values['overload-base'], 'overload-base')[0];
  return { quick, keep: values.keep === true, targets, settings, overloadBase };
}

async function main(): Promise<number> {
  const cli = parseCli();
  const root = findProjectRoot();
  const startedAt = new Date();
  const deadline = startedAt.getTime() + cli.settings.runBudgetSeconds * 1000;
  const resultsDir = join(root, 'benchmarks/results');
  const workDir = join(resultsDir, 'tmp', `call-rate-${startedAt.toISOString().replace(/[:.]/g, '-')}`);
  mkdirSync(workDir, { recursive: true });
  const scenarios = join(root, 'benchmarks/call-rate/scenarios');

  const group = new ChildGroup();
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${sig}: stopping every child process`);
    void group.stopAll().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => group.killAllNow());

  const loadAtStart = loadavg()[0] ?? 0;
  const host = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    sipp: versionOf('/usr/bin/sipp', ['-v'], /SIPp (v[0-9.]+)/),
    kamailio: versionOf('/usr/sbin/kamailio', ['-v'], /kamailio ([0-9.]+)/),
    rtpengine: versionOf('/usr/bin/rtpengine', ['--version'], /Version: (\S+)/),
    loadavg1mAtStart: Number(loadAtStart.toFixed(2)),
  };
  log(`call-rate benchmark${cli.quick ? ' (quick)' : ''}: targets ${cli.targets.join(', ')}; rates ${cli.settings.rates.join(', ')} cps; ` +
    `${cli.settings.stepSeconds} s per step; hold ${cli.settings.holdMs} ms; work dir ${workDir}`);

  const reports: TargetReport[] = [];
  let anyError = false;
  for (const spec of ALL_TARGETS.filter((t) => cli.targets.includes(t.name))) {
    if (interrupted) break;
    const unavailable = spec.unavailableReason(root);
    if (unavailable !== undefined) {
      log(`== ${spec.name}: skipped — ${unavailable}`);
      reports.push(skippedTarget(spec.name, spec.label, unavailable));
      continue;
    }
    log(`== ${spec.name}: ${spec.label}`);
    const targetDir = join(workDir, spec.name);
    mkdirSync(targetDir, { recursive: true });
    const uas = startSippUas(group, {
      scenarioFile: join(scenarios, 'uas.xml'),
      address: ADDRESSES.uas.address,
      port: ADDRESSES.uas.port,
      mediaPort: ADDRESSES.uas.mediaPort,
      controlPort: ADDRESSES.uas.controlPort,
      workDir: join(targetDir, 'uas'),
    });
    let running: RunningTarget | undefined;
    try {
      await waitForListener('udp', ADDRESSES.uas.address, ADDRESSES.uas.port, 5000, () => !uas.hasExited());
      running = await spec.start({ group, workDir: targetDir, projectRoot: root });
      const ladder = await runLadder(running, {
        group,
        settings: cli.settings,
        uacScenarioFile: join(scenarios, 'uac.xml'),
        workDir: targetDir,
        deadline,
        log,
      });
      const report = summarizeTarget(spec.name, spec.label, ladder);
      const base = cli.overloadBase === false ? undefined : (cli.overloadBase ?? report.maxSustainedCps ?? undefined);
      if (base !== undefined && OVERLOAD_TARGETS.includes(spec.name) && !interrupted) {
        log(`  overload steps: ${base} cps × 2, × 3, then × 1 (recovery), ${cli.settings.stepSeconds} s each`);
        await sleep(cli.settings.settleMs);
        report.overload = await runOverload(running, {
          group,
          scenarioTemplate: join(scenarios, 'uac-overload.xml'),
          workDir: targetDir,
          baseCps: base,
          stepSeconds: cli.settings.stepSeconds,
          holdMs: cli.settings.holdMs,
          settleMs: cli.settings.settleMs,
          log,
        });
        if (report.overload.error !== undefined) log(`  overload error: ${report.overload.error}`);
      }
      if (report.status === 'error') {
        anyError = true;
        log(`  error: ${report.reason ?? ''}`);
      }
      reports.push(report);
    } catch (e) {
      anyError = true;
      const message = (e as Error).message;
      log(`  error: ${message}`);
      reports.push({ ...skippedTarget(spec.name, spec.label, message), status: 'error' });
    } finally {
      await running?.stop();
      await uas.stop();
    }
    await sleep(1000);
  }

  const notes = [
    'INVITE→200 percentiles come from probe calls (benchmarks/lib/sip-probe.ts, hrtime) that make up half of each step\'s rate (at most 100 calls/s; SIPp places the rest), so each p99 rests on several samples (probe n in the tables); SIPp\'s own -trace_rtt figures are kept as "SIPp p99" but are quantized to the 4 ms kernel tick.',
    'CPU is utime+stime from /proc/<pid>/stat summed over the process tree (Kamailio forks workers), read before and after each step, divided by successful calls.',
    'SIPp UAC, SIPp UAS, the target and rtpengine share the same machine; the direct baseline is SIPp\'s own ceiling here.',
    `1-minute load average: ${host.loadavg1mAtStart} at start, ${(loadavg()[0] ?? 0).toFixed(2)} at end (other work on the machine skews the figures).`,
  ];
  const result: CallRateReport = {
    benchmark: 'call-rate',
    quick: cli.quick,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    host,
    settings: cli.settings,
    targets: reports,
    comparison: compareTargets(reports),
    notes,
  };
  const base = `call-rate${cli.quick ? '-quick' : ''}-${resultStamp(startedAt)}`;
  writeFileSync(join(resultsDir, `${base}.json`), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(resultsDir, `${base}.md`), renderMarkdown(result));

  log('\n== summary');
  for (const t of reports) {
    const lat = t.latencyAtReference;
    const cpu = t.cpuMsPerCallAtReference;
    log(
      `${t.name.padEnd(9)} ${t.status === 'ok' ? `max ${t.maxSustainedCps ?? 'none'} cps (${t.limitedBy ?? ''})` : `${t.status}: ${t.reason ?? ''}`}` +
        (lat === undefined ? '' : `; INVITE→200 @${lat.rateCps} cps p50 ${lat.p50Ms ?? '?'} ms p99 ${lat.p99Ms ?? '?'} ms`) +
        (cpu === undefined ? '' : `; CPU ms/call ${Object.entries(cpu).map(([k, v]) => `${k} ${v}`).join(', ')}`),
    );
    for (const s of t.overload?.steps ?? []) {
      log(`          overload ${s.multiplier}× ${s.rateCps} cps: answered ${s.answeredCps} cps (${(s.answeredOfBase * 100).toFixed(0)} % of ${t.overload?.baseCps ?? '?'}), ` +
        `503 ${s.refused503}, ACK-timeout teardowns ${s.ackTimeoutTeardowns}, other failures ${s.otherFailures}`);
    }
  }
  const c = result.comparison;
  log(`b2bua/kamailio max-rate ratio: ${c.b2buaToKamailioMaxRateRatio ?? 'n/a'}; p99 overhead over direct: ` +
    `kamailio ${c.p99OverheadOverDirectMs.kamailio ?? 'n/a'} ms, b2bua ${c.p99OverheadOverDirectMs.b2bua ?? 'n/a'} ms`);
  log(`results: ${join(resultsDir, `${base}.json`)}, ${join(resultsDir, `${base}.md`)}`);

  if (cli.keep || anyError) log(`work dir kept: ${workDir}`);
  else rmSync(workDir, { recursive: true, force: true });
  return anyError ? 1 : 0;
}

main()
  .then((code) => process.exit(code))
  .catch((e: unknown) => {
    console.error(`call-rate benchmark failed: ${(e as Error).stack ?? String(e)}`);
    process.exit(1);
  });

