/**
 * One userspace rtpengine for a benchmark target, launched through infra's
 * startRtpengine (ready once it answers an ng ping) and tracked by the
 * benchmark's ChildGroup so Ctrl-C stops it too.
 *
 * Delete delay 0: rtpengine keeps a deleted call (and its ports) for a while
 * by default; at hundreds of calls per second that would exhaust the port
 * range and measure the port pool instead of call handling. Log level 4
 * (warnings): per-call notices would only add logging cost and noise.
 */
import { join } from 'node:path';
import { startRtpengine } from '../../infra/rtpengine.js';
import type { BenchChild, ChildGroup } from './children.js';

export interface BenchRtpengineOptions {
  id: string;
  address: string;
  ngPort: number;
  portMin: number;
  portMax: number;
  workDir: string;
}

export async function startBenchRtpengine(group: ChildGroup, o: BenchRtpengineOptions): Promise<BenchChild> {
  const managed = await startRtpengine({
    id: o.id,
    interfaceAddress: o.address,
    ngPort: o.ngPort,
    portMin: o.portMin,
    portMax: o.portMax,
    logFile: join(o.workDir, 'rtpengine.log'),
    deleteDelaySec: 0,
    logLevel: 4,
  });
  return group.adopt('rtpengine', managed);
}
