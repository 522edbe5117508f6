/**
 * The three systems under test, each started fresh for its own ladder:
 * - `direct`: SIPp UAC straight to the SIPp UAS (the floor: SIPp's own cost);
 * - `kamailio`: Kamailio as stateful record-routing proxy with its rtpengine module;
 * - `b2bua`: our signaling node (dist/infra/node-main.js) with one rtpengine and Redis.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../infra/config.js';
import type { BenchChild, ChildGroup } from '../lib/children.js';
import { waitForListener } from '../lib/readiness.js';
import { startBenchRtpengine } from '../lib/rtpengine.js';
import { ADDRESSES, ROUTE_PREFIX } from './plan.js';

export type TargetName = 'direct' | 'kamailio' | 'b2bua';

export interface TargetContext {
  group: ChildGroup;
  /** Scratch folder of this target (logs, generated configs). */
  workDir: string;
  projectRoot: string;
}

/** A started target: where to send INVITEs and whose CPU to read. */
export interface RunningTarget {
  sipAddress: string;
  sipPort: number;
  /** Process trees whose utime+stime is read around each step, by role. */
  cpuPids: Partial<Record<'proxy' | 'rtpengine' | 'redis', number>>;
  stop(): Promise<void>;
}

export interface TargetSpec {
  name: TargetName;
  label: string;
  /** Why this target cannot run here, or undefined when it can. */
  unavailableReason(projectRoot: string): string | undefined;
  start(ctx: TargetContext): Promise<RunningTarget>;
}

const KAMAILIO = '/usr/sbin/kamailio';
const REDIS = '/usr/bin/redis-server';
const B2BUA_ENTRY = 'dist/infra/node-main.js';
const START_TIMEOUT_MS = 15_000;

async function stopAll(children: BenchChild[]): Promise<void> {
  for (const c of [...children].reverse()) await c.stop();
}

export const directTarget: TargetSpec = {
  name: 'direct',
  label: 'SIPp UAC → SIPp UAS (no proxy)',
  unavailableReason: () => undefined,
  start: async () => ({
    sipAddress: ADDRESSES.uas.address,
    sipPort: ADDRESSES.uas.port,
    cpuPids: {},
    stop: async () => {},
  }),
};

export const kamailioTarget: TargetSpec = {
  name: 'kamailio',
  label: 'Kamailio 5 (tm + rr + rtpengine module) + rtpengine',
  unavailableReason: () => (existsSync(KAMAILIO) ? undefined : `${KAMAILIO} not installed`),
  start: async (ctx) => {
    const children: BenchChild[] = [];
    try {
      const rtp = ADDRESSES.rtpengine;
      const rtpengine = await startBenchRtpengine(ctx.group, {
        id: rtp.id,
        address: rtp.address,
        ngPort: rtp.ngPort,
        portMin: rtp.portMin,
        portMax: rtp.portMax,
        workDir: ctx.workDir,
      });
      children.push(rtpengine);

      const template = readFileSync(join(ctx.projectRoot, 'benchmarks/call-rate/kamailio.cfg.template'), 'utf8');
      const values: Record<string, string> = {
        // Kamailio's default; its rtpengine module waits for each ng reply in the worker, so fewer workers cap the rate.
        CHILDREN: '8',
        LISTEN_ADDRESS: ADDRESSES.kamailio.address,
        LISTEN_PORT: String(ADDRESSES.kamailio.port),
        RTPENGINE_ADDRESS: rtp.address,
        RTPENGINE_PORT: String(rtp.ngPort),
        DESTINATION_ADDRESS: ADDRESSES.uas.address,
        DESTINATION_PORT: String(ADDRESSES.uas.port),
      };
      const cfg = template.replace(/\{\{([A-Z_]+)\}\}/g, (_, k: string) => {
        const v = values[k];
        if (v === undefined) throw new Error(`kamailio.cfg.template: unknown placeholder ${k}`);
        return v;
      });
      const cfgFile = join(ctx.workDir, 'kamailio.cfg');
      writeFileSync(cfgFile, cfg);
      // -DD -E: stay in the foreground (workers still forked) and log to stderr.
      const kamailio = ctx.group.spawn(
        'kamailio',
        KAMAILIO,
        ['-DD', '-E', '-f', cfgFile, '-Y', ctx.workDir, '-P', join(ctx.workDir, 'kamailio.pid'), '-m', '256', '-M', '16'],
        { logFile: join(ctx.workDir, 'kamailio.log') },
      );
      children.push(kamailio);
      await waitForListener('udp', ADDRESSES.kamailio.address, ADDRESSES.kamailio.port, START_TIMEOUT_MS, () => !kamailio.hasExited());
      return {
        sipAddress: ADDRESSES.kamailio.address,
        sipPort: ADDRESSES.kamailio.port,
        cpuPids: { proxy: kamailio.pid, rtpengine: rtpengine.pid },
        stop: () => stopAll(children),
      };
    } catch (e) {
      await stopAll(children);
      throw e;
    }
  },
};

/** The B2BUA configuration the benchmark runs with, validated by the project's own schema. */
export function b2buaConfig(runDir: string): unknown {
  const rtp = ADDRESSES.rtpengine;
  const raw = {
    region: 'us-east',
    nodeId: 'bench-sig-1',
    runDir,
    sip: { address: ADDRESSES.b2bua.address, port: ADDRESSES.b2bua.port, transports: ['UDP'] },
    redis: { url: `redis://${ADDRESSES.redis.host}:${ADDRESSES.redis.port}`, keyPrefix: 'bench:' },
    media: {
      nodes: [{ id: rtp.id, address: rtp.address, ngPort: rtp.ngPort, rtpPortMin: rtp.portMin, rtpPortMax: rtp.portMax }],
    },
    routes: [{ prefix: ROUTE_PREFIX, destination: `sip:${ADDRESSES.uas.address}:${ADDRESSES.uas.port}` }],
    logLevel: 'warn',
    // Tuning hook: top-level config keys merged over these, e.g. CALL_RATE_B2BUA_CONFIG='{"heapGrowingPercent":600}'.
    ...(process.env.CALL_RATE_B2BUA_CONFIG !== undefined ? (JSON.parse(process.env.CALL_RATE_B2BUA_CONFIG) as Record<string, unknown>) : {}),
  };
  parseConfig(raw); // fail here, with the bad key named, rather than inside the spawned node
  return raw;
}

export const b2buaTarget: TargetSpec = {
  name: 'b2bua',
  label: 'our B2BUA (dist/infra/node-main.js) + rtpengine + Redis',
  unavailableReason: (root) =>
    existsSync(join(root, B2BUA_ENTRY)) ? undefined : `our B2BUA not built: ${B2BUA_ENTRY} missing (run npm run build)`,
  start: async (ctx) => {
    const children: BenchChild[] = [];
    try {
      const redis = ctx.group.spawn(
        'redis',
        REDIS,
        ['--port', String(ADDRESSES.redis.port), '--bind', ADDRESSES.redis.host, '--save', '', '--appendonly', 'no', '--dir', ctx.workDir],
        { logFile: join(ctx.workDir, 'redis.log') },
      );
      children.push(redis);
      await waitForListener('tcp', ADDRESSES.redis.host, ADDRESSES.redis.port, START_TIMEOUT_MS, () => !redis.hasExited());

      const rtp = ADDRESSES.rtpengine;
      const rtpengine = await startBenchRtpengine(ctx.group, {
        id: rtp.id,
        address: rtp.address,
        ngPort: rtp.ngPort,
        portMin: rtp.portMin,
        portMax: rtp.portMax,
        workDir: ctx.workDir,
      });
      children.push(rtpengine);

      const cfgFile = join(ctx.workDir, 'b2bua.json');
      writeFileSync(cfgFile, JSON.stringify(b2buaConfig(join(ctx.workDir, 'run')), null, 2));
      // Profiling hook: e.g. CALL_RATE_B2BUA_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof --trace-gc".
      const nodeArgs = (process.env.CALL_RATE_B2BUA_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
      const node = ctx.group.spawn('b2bua', process.execPath, [...nodeArgs, join(ctx.projectRoot, B2BUA_ENTRY), '--config', cfgFile], {
        cwd: ctx.projectRoot,
        logFile: join(ctx.workDir, 'b2bua.log'),
      });
      children.push(node);
      await waitForListener('udp', ADDRESSES.b2bua.address, ADDRESSES.b2bua.port, START_TIMEOUT_MS, () => !node.hasExited());
      return {
        sipAddress: ADDRESSES.b2bua.address,
        sipPort: ADDRESSES.b2bua.port,
        cpuPids: { proxy: node.pid, rtpengine: rtpengine.pid, redis: redis.pid },
        stop: () => stopAll(children),
      };
    } catch (e) {
      await stopAll(children);
      throw e;
    }
  },
};

export const ALL_TARGETS: readonly TargetSpec[] = [directTarget, kamailioTarget, b2buaTarget];
