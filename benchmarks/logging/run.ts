/**
 * Logging cost, hand-written logger (the one regions/core/log.ts had before)
 * vs pino (what it has now), in the same run. Each measurement runs in a fresh
 * child process (child.ts) with stderr on a file or on a pipe that this
 * process drains, as the launcher's children have; the rounds alternate
 * between the two loggers so machine noise hits both alike.
 *
 *   npx tsx benchmarks/logging/run.ts [--lines 100000] [--rate 20000] [--seconds 3] [--rounds 3]
 *
 * Writes benchmarks/results/tmp/logging-<time>.json and .md (a new file per
 * run; benchmarks/results/logging.{json,md} is a committed example).
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { round } from '../lib/stats.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '100000' },
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
  },
});
const LINES = Number(values.lines);
const RATE = Number(values.rate);
const DURATION_MS = Number(values.seconds) * 1000;
const ROUNDS = Number(values.rounds);
const IMPLS = ['hand', 'pino'] as const;
const DESTS = ['file', 'pipe'] as const;
type Impl = (typeof IMPLS)[number];
type Dest = (typeof DESTS)[number];

const CHILD = join(import.meta.dirname, 'child.ts');
const scratch = mkdtempSync(join(tmpdir(), 'bench-logging-'));

/** Runs child.ts; returns its JSON line and the number of log lines that reached the destination. */
function measure(impl: Impl, dest: Dest, args: string[]): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const file = join(scratch, `${impl}-${dest}.log`);
    const fd = dest === 'file' ? openSync(file, 'w') : undefined;
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, impl, ...args], {
      stdio: ['ignore', 'pipe', fd ?? 'pipe'],
    });
    if (fd !== undefined) closeSync(fd);
    let out = '';
    let pipedLines = 0;
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => {
      for (const b of d) if (b === 10) pipedLines++;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`${impl}/${dest} ${args.join(' ')} exited ${code}: ${out}`));
      let written = pipedLines;
      if (dest === 'file') {
        written = 0;
        if (statSync(file).size > 0) for (const b of readFileSync(file)) if (b === 10) written++;
        rmSync(file);
      }
      resolve({ ...(JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, number>), written });
    });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

interface Row { impl: Impl; dest: Dest; [k: string]: number | string }
const burstRows: Row[] = [];
const steadyRows: Row[] = [];
try {
  for (const dest of DESTS) {
    const burst: Record<Impl, Record<string, number>[]> = { hand: [], pino: [] };
    const steady: Record<Impl, Record<string, number>[]> = { hand: [], pino: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const impl of r % 2 === 0 ? IMPLS : [...IMPLS].reverse()) {
        const b = await measure(impl, dest, ['burst', String(LINES)]);
        // 2000 warm-up lines are logged before the timed ones.
        if (b.written !== LINES + 2000) throw new Error(`${impl}/${dest}: ${b.written} of ${LINES + 2000} lines written`);
        burst[impl].push(b);
        const s = await measure(impl, dest, ['steady', String(RATE), String(DURATION_MS)]);
        if (s.written !== s.lines) throw new Error(`${impl}/${dest}: ${s.written} of ${s.lines} lines written`);
        steady[impl].push(s);
      }
    }
    for (const impl of IMPLS) {
      const b = burst[impl];
      burstRows.push({
        impl, dest,
        blockedMs: round(median(b.map((x) => x.callMs!)), 1)!,
        totalMs: round(median(b.map((x) => x.totalMs!)), 1)!,
        linesPerS: Math.round(median(b.map((x) => (LINES / x.totalMs!) * 1000))),
        cpuUsPerLine: round(median(b.map((x) => (x.cpuMs! * 1000) / LINES)), 2)!,
      });
      const s = steady[impl];
      steadyRows.push({
        impl, dest,
        linesPerS: Math.round(median(s.map((x) => x.linesPerS!))),
        eldP50Ms: round(median(s.map((x) => x.eldP50Ms!)), 2)!,
        eldP99Ms: round(median(s.map((x) => x.eldP99Ms!)), 2)!,
        eldMaxMs: round(median(s.map((x) => x.eldMaxMs!)), 2)!,
        cpuMsPer1kLines: round(median(s.map((x) => x.cpuMsPer1kLines!)), 2)!,
      });
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const ratio = (rows: Row[], dest: Dest, key: string): number | undefined => {
  const h = rows.find((r) => r.impl === 'hand' && r.dest === dest)?.[key] as number;
  const p = rows.find((r) => r.impl === 'pino' && r.dest === dest)?.[key] as number;
  return round(p / h, 2);
};
const ratios = Object.fromEntries(DESTS.map((d) => [d, {
  burstLinesPerS: ratio(burstRows, d, 'linesPerS'),
  burstBlockedMs: ratio(burstRows, d, 'blockedMs'),
  burstCpuPerLine: ratio(burstRows, d, 'cpuUsPerLine'),
  steadyEldP99: ratio(steadyRows, d, 'eldP99Ms'),
  steadyCpuPer1k: ratio(steadyRows, d, 'cpuMsPer1kLines'),
}]));

const table = (rows: Row[]): string => {
  const keys = Object.keys(rows[0] ?? {});
  return [`| ${keys.join(' | ')} |`, `|${keys.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${keys.map((k) => r[k]).join(' | ')} |`)].join('\n');
};
const md = [
  `# Logging: hand-written vs pino (same run, medians of ${ROUNDS} rounds, fresh process each)`,
  '',
  `Burst: ${LINES} lines in a tight loop. blockedMs = time the loop held the thread; totalMs = until the lines were written out.`,
  '',
  table(burstRows),
  '',
  `Steady: ${RATE} lines/s in 1 ms batches for ${DURATION_MS / 1000} s; event-loop delay from monitorEventLoopDelay (resolution 1 ms).`,
  '',
  table(steadyRows),
  '',
  'Ratios pino ÷ hand-written (lines/s: higher is better; the others: lower is better):',
  '',
  '```json',
  JSON.stringify(ratios, null, 2),
  '```',
  '',
].join('\n');
const outDir = join(import.meta.dirname, '../results/tmp');
mkdirSync(outDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(join(outDir, `logging-${stamp}.json`), JSON.stringify({ lines: LINES, rate: RATE, durationMs: DURATION_MS, rounds: ROUNDS, burst: burstRows, steady: steadyRows, ratios }, null, 2) + '\n');
writeFileSync(join(outDir, `logging-${stamp}.md`), md);
console.log(md);
console.log(`wrote benchmarks/results/tmp/logging-${stamp}.{json,md}`);
