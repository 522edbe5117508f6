/**
 * A real single-region stack for B2BUA integration tests: two rtpengine media
 * nodes and an in-process signaling node, on 127.0.4.0/24, with Redis from
 * the global setup. SIPp plays carrier (127.0.4.2) and callee (127.0.4.3).
 */
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type Config } from '../../../../infra/config.js';
import { createLogger, type Logger } from '../../../../regions/core/log.js';
import type { ManagedProcess } from '../../../../infra/process.js';
import { startMediaNode } from '../../../../infra/rtpengine.js';
import { startSignalingNode, type SignalingNode } from '../../../../infra/signaling-node.js';
import type { ClientAuthenticator } from '../../../../signaling/clients/authenticator.js';
import { TEST_REDIS_URL } from '../../global-setup.js';

export const SIG = { address: '127.0.4.1', port: 5060 };
export const CARRIER = { address: '127.0.4.2', port: 5070 };
export const CALLEE = { address: '127.0.4.3', port: 5090 };

export const MEDIA_NODES = [
  { id: 'it-media-1', address: '127.0.4.11', ngPort: 2223, rtpPortMin: 48000, rtpPortMax: 48999 },
  { id: 'it-media-2', address: '127.0.4.12', ngPort: 2223, rtpPortMin: 49000, rtpPortMax: 49999 },
];

export interface TestRegion {
  readonly node: SignalingNode;
  readonly config: Config;
  readonly logDir: string;
  rtpengines: Map<string, ManagedProcess>;
  /** Start (or restart) one media node's rtpengine. */
  startMedia(id: string): Promise<ManagedProcess>;
  close(): Promise<void>;
}

export interface TestRegionOptions {
  keyPrefix: string;
  /** sip.maxCalls (default: the config's). */
  maxCalls?: number;
  t1?: number;
  noAnswerTimeoutSeconds?: number;
  transports?: ('UDP' | 'TCP')[];
  /** Defaults: region us-east, node it-sig-1 on SIG, MEDIA_NODES, routes +1555/+1666 → CALLEE, no mesh. */
  region?: string;
  nodeId?: string;
  sip?: { address: string; port: number };
  mediaNodes?: typeof MEDIA_NODES;
  routes?: { prefix: string; destination: string }[];
  mesh?: {
    peers: { region: string; address: string; port: number }[];
    homeRules: { prefix: string; region: string }[];
    /** One-way delays from this region / between all regions (placement of media in other regions). */
    linkDelaysMs?: Record<string, number>;
    linkMatrixMs?: Record<string, Record<string, number>>;
    applicationMedia?: 'edge' | 'home';
  };
  recording?: { prefixes: string[]; central: { region: string; address: string; port: number } };
  /** Media health ping interval. Default 250 ms. */
  healthIntervalMs?: number;
  /** Level of the node's own logger (process-mode nodes). Default warn. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * sip.admission limits (default: the config's, except the event-loop check, off unless given:
   * a node in a test shares its event loop with the test itself, Chromium's driver and the API
   * harness, so that loop's delay on a loaded machine is the test's, not the node's).
   */
  admission?: { maxEventLoopDelayMs?: number; maxInvitesInFlight?: number; minFreeMediaPorts?: number };
  /** Who may register as a browser client (default: nobody, the node's default). */
  clientAuthenticator?: ClientAuthenticator;
}

/** The validated configuration of a test region (defaults as TestRegionOptions says). */
export function testRegionConfig(opts: TestRegionOptions, logDir: string): Config {
  const sip = opts.sip ?? SIG;
  return parseConfig({
    region: opts.region ?? 'us-east',
    nodeId: opts.nodeId ?? 'it-sig-1',
    runDir: logDir,
    sip: { address: sip.address, port: sip.port, transports: opts.transports ?? ['UDP', 'TCP'], t1: opts.t1 ?? 500, ...(opts.maxCalls !== undefined ? { maxCalls: opts.maxCalls } : {}), admission: { maxEventLoopDelayMs: 0, ...opts.admission } },
    redis: { url: TEST_REDIS_URL, keyPrefix: opts.keyPrefix },
    media: { nodes: opts.mediaNodes ?? MEDIA_NODES, healthIntervalMs: opts.healthIntervalMs ?? 250, ngTimeoutMs: 800 },
    routes: opts.routes ?? [
      { prefix: '+1555', destination: `sip:${CALLEE.address}:${CALLEE.port}` },
      { prefix: '+1666', destination: `sip:${CALLEE.address}:${CALLEE.port};transport=tcp` },
    ],
    ...(opts.mesh !== undefined ? { mesh: opts.mesh } : {}),
    ...(opts.recording !== undefined ? { recording: opts.recording } : {}),
    noAnswerTimeoutSeconds: opts.noAnswerTimeoutSeconds ?? 60,
    logLevel: opts.logLevel ?? 'warn',
  });
}

/** A region's rtpengines, each restartable by id (failure tests kill and restart them). */
export interface MediaSet {
  readonly rtpengines: Map<string, ManagedProcess>;
  startMedia(id: string): Promise<ManagedProcess>;
  close(): Promise<void>;
}

/** `dtmfLogDest`: where the rtpengines report DTMF digits (the signaling node's DTMF listener). */
export async function startMediaSet(nodes: typeof MEDIA_NODES, logDir: string, dtmfLogDest?: string): Promise<MediaSet> {
  const rtpengines = new Map<string, ManagedProcess>();
  const startMedia = async (id: string): Promise<ManagedProcess> => {
    const n = nodes.find((m) => m.id === id);
    if (n === undefined) throw new Error(`unknown media node ${id}`);
    const p = await startMediaNode(n, logDir, dtmfLogDest);
    rtpengines.set(id, p);
    return p;
  };
  for (const n of nodes) await startMedia(n.id);
  return {
    rtpengines,
    startMedia,
    async close() {
      for (const p of rtpengines.values()) await p.stop(3000);
    },
  };
}

/** A logger writing the node's JSON lines to `<logDir>/signaling.log` (bounded), for post-mortems of failed tests. */
export function fileLogger(logDir: string): { log: Logger; end(): void } {
  const logStream = createWriteStream(join(logDir, 'signaling.log'));
  let logged = 0;
  const log = createLogger('info', {}, (l) => {
    if (logged++ < 100_000) logStream.write(l + '\n');
  });
  return { log, end: () => logStream.end() };
}

export async function startTestRegion(opts: TestRegionOptions): Promise<TestRegion> {
  const logDir = mkdtempSync(join(tmpdir(), 'mesh-b2bua-'));
  const config = testRegionConfig(opts, logDir);
  const media = await startMediaSet(opts.mediaNodes ?? MEDIA_NODES, logDir, `${config.sip.address}:${config.media.dtmfEventPort}`);
  const { log, end } = fileLogger(logDir);
  const node = await startSignalingNode(config, log, opts.clientAuthenticator !== undefined ? { clientAuthenticator: opts.clientAuthenticator } : {});
  return {
    node,
    config,
    logDir,
    rtpengines: media.rtpengines,
    startMedia: media.startMedia,
    async close() {
      await node.close();
      await media.close();
      end();
    },
  };
}
