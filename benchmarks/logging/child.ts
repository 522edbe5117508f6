/**
 * One measurement in a fresh process (run.ts starts it with stderr on a file
 * or a pipe): `burst` logs N lines in a tight loop; `steady` logs R lines/s in
 * 1 ms batches for D ms while perf_hooks.monitorEventLoopDelay watches the loop.
 * Prints one JSON object on stdout.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLogger, flushLogs, type Logger } from '../../regions/core/log.js';
import { createHandLogger } from './hand-logger.js';

const [impl, mode, nArg, durationArg] = process.argv.slice(2);
const base = { proc: 'signaling', node: 'us-east-sig-1' };
const log: Logger = impl === 'pino' ? createLogger('info', base) : createHandLogger('info', base);
const callLog = log.child({ callSid: 'CA0123456789abcdef0123456789abcdef' });

/** A line like the B2BUA's: a handful of short fields. */
function line(i: number): void {
  callLog.info('invite forwarded', { branch: `z9hG4bK${i}`, to: 'sip:+15551230000@127.0.1.1', mediaNode: 'us-east-media-1', ms: i % 17 });
}

async function burst(n: number): Promise<void> {
  for (let i = 0; i < 2000; i++) line(i); // warm-up, not timed
  await flushLogs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) line(i);
  const callMs = performance.now() - t0;
  await flushLogs();
  const totalMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ lines: n, callMs, totalMs, cpuMs: (cpu.user + cpu.system) / 1000 }));
}

async function steady(ratePerS: number, durationMs: number): Promise<void> {
  const perTick = Math.max(1, Math.round(ratePerS / 1000));
  const h = monitorEventLoopDelay({ resolution: 1 });
  let i = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  h.enable();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      for (let k = 0; k < perTick; k++) line(i++);
      if (performance.now() - t0 >= durationMs) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  h.disable();
  await flushLogs();
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({
    lines: i,
    linesPerS: (i / elapsedMs) * 1000,
    eldP50Ms: h.percentile(50) / 1e6,
    eldP99Ms: h.percentile(99) / 1e6,
    eldMaxMs: h.max / 1e6,
    cpuMsPer1kLines: ((cpu.user + cpu.system) / 1000 / i) * 1000,
  }));
}

if (mode === 'burst') await burst(Number(nArg));
else await steady(Number(nArg), Number(durationArg));
