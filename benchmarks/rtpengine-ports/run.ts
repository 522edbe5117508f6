/**
 * What rtpengine's --delete-delay costs: after N short calls (offer, answer,
 * delete, one after another as fast as ng answers), how many sessions and RTP
 * ports does rtpengine still hold? Run once per delete delay, each on a fresh
 * rtpengine (userspace, 127.0.7.21, ng 2233, RTP 60000–60999: 1000 ports,
 * room for 250 calls at 4 ports a call).
 *
 *   npx tsx benchmarks/rtpengine-ports/run.ts [--calls 200] [--delays 30,1,0]
 *
 * Prints one line per delay and writes benchmarks/results/tmp/rtpengine-ports-<time>.json
 * (scratch; the README quotes the figures). Sessions come from ng `list`,
 * ports in use from ng `statistics` when rtpengine reports them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRtpengine } from '../../infra/rtpengine.js';
import { NgClient } from '../../media/ng/client.js';

const ADDRESS = '127.0.7.21';
const NG_PORT = 2233;
const PORT_MIN = 60000;
const PORT_MAX = 60999;

const offerSdp = (port: number): string =>
  `v=0\r\no=a 1 1 IN IP4 127.0.7.22\r\ns=-\r\nc=IN IP4 127.0.7.22\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n`;

/** Ports in use from ng `statistics` (rtpengine 10.5: statistics.interfaces[].ports.used), when present. */
function portsUsed(stats: Record<string, unknown>): number | undefined {
  let found: number | undefined;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k === 'used' && typeof x === 'number') found = (found ?? 0) + x;
        else walk(x);
      }
    }
  };
  walk((stats['statistics'] as Record<string, unknown> | undefined)?.['interfaces']);
  return found;
}

async function measure(delaySec: number, calls: number, workDir: string): Promise<Record<string, number | undefined>> {
  const proc = await startRtpengine({
    id: `ports-${delaySec}`, interfaceAddress: ADDRESS, ngPort: NG_PORT, portMin: PORT_MIN, portMax: PORT_MAX,
    deleteDelaySec: delaySec, logLevel: 4, logFile: join(workDir, `rtpengine-${delaySec}.log`),
  });
  const ng = new NgClient({ address: ADDRESS, port: NG_PORT, timeoutMs: 2000 });
  let failed = 0;
  try {
    for (let i = 0; i < calls; i++) {
      const callId = `ports-${delaySec}-${i}`;
      try {
        await ng.offer({ callId, fromTag: 'a', sdp: offerSdp(20000 + 2 * (i % 1000)) });
        await ng.answer({ callId, fromTag: 'a', toTag: 'b', sdp: offerSdp(30000 + 2 * (i % 1000)) });
        await ng.delete({ callId });
      } catch {
        failed++;
      }
    }
    const sessions = (await ng.list(100_000)).length;
    const stats = await ng.command('statistics').catch(() => ({}) as Record<string, unknown>);
    return { deleteDelaySec: delaySec, calls, failedCalls: failed, sessionsHeld: sessions, portsHeld: portsUsed(stats) };
  } finally {
    await ng.close();
    await proc.stop(3000);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { calls: { type: 'string', default: '200' }, delays: { type: 'string', default: '30,1,0' } } });
  const calls = Number(values.calls);
  const delays = (values.delays ?? '').split(',').map(Number);
  if (!Number.isInteger(calls) || calls <= 0 || delays.some((d) => !Number.isInteger(d) || d < 0)) throw new Error('--calls N (> 0), --delays list of seconds (>= 0)');
  const workDir = mkdtempSync(join(tmpdir(), 'rtpengine-ports-'));
  const rows = [];
  try {
    for (const d of delays) {
      const r = await measure(d, calls, workDir);
      rows.push(r);
      console.log(`delete-delay ${d} s: after ${calls} calls (${r['failedCalls']} failed) rtpengine holds ${r['sessionsHeld']} sessions, ${r['portsHeld'] ?? '?'} ports`);
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
  const out = join(import.meta.dirname, '../results/tmp');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `rtpengine-ports-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), `${JSON.stringify(rows, null, 2)}\n`);
}

main().catch((e: unknown) => {
  console.error((e as Error).stack ?? String(e));
  process.exit(1);
});
