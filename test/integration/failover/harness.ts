/**
 * A real single region for failover tests: two rtpengine media nodes and a
 * signaling node, on 127.0.10.0/24 with RTP ports 51000-52999 and Redis from
 * the integration global setup. The signaling node runs either in-process
 * (media failover: the test reads its counters) or as real processes, an
 * active and a standby (signaling failover: the test SIGKILLs the active).
 * SIPp plays carrier (127.0.10.2) and callee (127.0.10.3).
 */
import { waitUntil } from '../../support/wait.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../../infra/config.js';
import { startSignalingNode, type SignalingNode } from '../../../infra/signaling-node.js';
import { MediaNodeRegistry } from '../../../media/nodes/registry.js';
import { fileLogger, startMediaSet, testRegionConfig, type MediaSet } from '../signaling/b2bua/harness.js';

export const SIG = { address: '127.0.10.1', port: 5060 };
export const CARRIER = { address: '127.0.10.2', port: 5070 };
export const CALLEE = { address: '127.0.10.3', port: 5090 };

export const MEDIA_NODES = [
  { id: 'fo-media-1', address: '127.0.10.11', ngPort: 2223, rtpPortMin: 51000, rtpPortMax: 51999 },
  { id: 'fo-media-2', address: '127.0.10.12', ngPort: 2223, rtpPortMin: 52000, rtpPortMax: 52999 },
];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The region's configuration (the same for the in-process node, the active and the standby). */
export function failoverConfig(keyPrefix: string, logDir: string, healthIntervalMs = 250): Config {
  return testRegionConfig(
    {
      keyPrefix,
      nodeId: 'fo-sig-1',
      sip: SIG,
      transports: ['UDP'],
      mediaNodes: MEDIA_NODES,
      routes: [{ prefix: '+1555', destination: `sip:${CALLEE.address}:${CALLEE.port}` }],
      healthIntervalMs,
      logLevel: 'info',
    },
    logDir,
  );
}

export interface MediaPair extends MediaSet {
  readonly logDir: string;
}

export async function startMediaPair(logDir: string): Promise<MediaPair> {
  return { logDir, ...(await startMediaSet(MEDIA_NODES, logDir)) };
}

export interface InProcessRegion extends MediaPair {
  readonly node: SignalingNode;
  readonly config: Config;
}

/** Media pair + an in-process signaling node. */
export async function startInProcessRegion(keyPrefix: string): Promise<InProcessRegion> {
  const logDir = mkdtempSync(join(tmpdir(), 'mesh-failover-'));
  const media = await startMediaPair(logDir);
  const config = failoverConfig(keyPrefix, logDir);
  const { log, end } = fileLogger(logDir);
  const node = await startSignalingNode(config, log);
  return {
    ...media,
    node,
    config,
    async close() {
      await node.close();
      await media.close();
      end();
    },
  };
}

/** One signaling node process (`infra/node-main.ts` under tsx). */
export interface NodeProcess {
  readonly child: ChildProcess;
  /** Resolves with the elapsed ms once the process printed `marker` (READY / ACTIVE). */
  waitFor(marker: string, timeoutMs: number): Promise<number>;
  /** Everything it printed (bounded). */
  output(): string;
  kill(signal: NodeJS.Signals): void;
  readonly exited: Promise<void>;
}

export function spawnNodeProcess(configFile: string, args: string[], logFile: string): NodeProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'infra', 'node-main.ts'), '--config', configFile, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(logFile);
  let out = '';
  const waiters: (() => void)[] = [];
  const onData = (b: Buffer): void => {
    log.write(b);
    if (out.length < 1_000_000) out += b.toString('utf8');
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => {
    log.end();
    r();
  }));
  return {
    child,
    exited,
    output: () => out,
    kill: (sig) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
    waitFor(marker, timeoutMs) {
      const started = Date.now();
      return new Promise((resolveWait, reject) => {
        const check = (): void => {
          if (out.includes(marker)) {
            clearTimeout(t);
            waiters.splice(waiters.indexOf(check), 1);
            resolveWait(Date.now() - started);
          }
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`node did not print ${marker} within ${timeoutMs} ms; output:\n${out.slice(-4000)}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
  };
}

/** Write the region's configuration where node-main can read it. */
export function writeConfigFile(config: Config, logDir: string): string {
  const file = join(logDir, 'signaling.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** A registry of the region's media nodes for the test's own ng queries. */
export async function testMediaRegistry(): Promise<MediaNodeRegistry> {
  const r = new MediaNodeRegistry({ nodes: MEDIA_NODES, healthIntervalMs: 250, ngTimeoutMs: 500 });
  await r.start();
  return r;
}

export const waitFor = (cond: () => boolean | Promise<boolean>, timeoutMs: number, pollMs = 20): Promise<number> => waitUntil(cond, timeoutMs, 'condition', pollMs);
