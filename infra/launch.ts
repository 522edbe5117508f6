/**
 * `make start`: bring up the embedded default on this machine.
 *
 *   1. Redis (reuse one listening at the configured URL, else start one with AOF under run/)
 *   2. one rtpengine per configured media node (userspace, its own address, ng port, RTP range)
 *   3. the central media service (recording store) of every region (in this process;
 *      `central-media-set.ts`), announced in discovery
 *   4. the link relays between regions (in this process; `link-delays.ts`): every region reaches
 *      the others through relays that add the catalog's one-way delay (mesh.emulateLinkDelay):
 *      SIP, and the region link, branch RTP and uploads to central media services
 *   5. two processes per region's signaling node: the active (ready when it answers SIP
 *      OPTIONS) and a standby (`--standby`, ready when it waits for the node's lease); the
 *      standby takes over the address and the live calls when the active dies
 *   6. the control plane
 *
 * Every child process (Redis when started here, rtpengines, signaling processes, the control
 * plane) is supervised (`supervisor.ts`): one that dies is logged and started again after a
 * backoff (0.5 s doubling to 10 s, back to 0.5 s after 60 s up) while the rest keeps running;
 * a signaling process always comes back as a standby. `<runDir>/pids.json` follows the
 * restarts (kill drills read it). Logs go to run/logs/; what the relays carried to
 * run/link-relays.json (every 5 s and at stop). Ctrl-C or SIGTERM stops everything this
 * launcher started, in reverse order. Usage: node dist/infra/launch.js [--config FILE] [--single]
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { ensureDevAccount } from '../control-plane/store/accounts.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configPathFromArgv, loadConfig } from './config.js';
import type { ManagedProcess } from './process.js';
import { spawnManaged } from './process.js';
import { ensureRedis } from './redis.js';
import { Supervisor, type SupervisorEvent } from './supervisor.js';
import { listDrainedNodes } from '../regions/store/drained-nodes.js';
import { loadRegionCatalog } from '../regions/catalog.js';
import { CENTRAL_MEDIA_HTTP_PORT, CENTRAL_MEDIA_RTP_PORTS, startCentralMediaSet, type CentralMediaSet } from './central-media-set.js';
import { createMeshDiscovery, type MeshDiscovery } from './discovery.js';
import { planLinkRelays, type LinkRelayPlan } from './link-delays.js';
import { followLinkCuts, startLinkRelays, type LinkCutFollower, type LinkRelayTraffic, type RunningLinkRelays } from './link-relays.js';
import { listLinkCuts } from '../regions/store/link-cuts.js';
import { createLogger } from '../regions/core/log.js';
import { newSecretsKey } from '../regions/auth/secret-box.js';
import { regionConfigs } from './region-configs.js';
import { startMediaNode } from './rtpengine.js';
import { sipOptionsPing } from './sip-ping.js';

const here = dirname(fileURLToPath(import.meta.url));
/** First restart delay of an rtpengine: twice the time its death takes to be detected and confirmed, at least 3 s. */
const mediaRestartMs = (m: { healthIntervalMs: number; ngTimeoutMs: number }): number => Math.max(3000, 2 * (2 * m.healthIntervalMs + m.ngTimeoutMs + 100));
/** Project root: this file runs from dist/infra/. */
const root = resolve(here, '..', '..');

async function main(): Promise<void> {
  const configFile = configPathFromArgv(process.argv) ?? process.env.MESH_CONFIG ?? join(root, 'infra', 'config', 'us-east.json');
  let config;
  try {
    config = loadConfig({ file: configFile });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  const runDir = resolve(root, config.runDir);
  const logDir = join(runDir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const supervisor = new Supervisor<ManagedProcess>({ onEvent: (e) => onSupervisorEvent(e) });
  const pidsFile = join(runDir, 'pids.json');
  // Keyed by node id (media node ids, `<signaling node id>#1` / `#2`, control-plane, redis) for kill drills.
  const writePids = (): void => {
    const pids: Record<string, number> = {};
    for (const [name, pid] of Object.entries(supervisor.pids())) pids[name.replace(/^rtpengine /, '')] = pid;
    try {
      writeFileSync(pidsFile, JSON.stringify(pids, null, 2));
    } catch (e) {
      log.warn('pids.json not written', { error: e as Error });
    }
  };
  let upAndRunning = false;
  const onSupervisorEvent = (e: SupervisorEvent): void => {
    if (stopping) return;
    if (e.type === 'exited') {
      say(`${e.name} (pid ${e.pid}) exited (${e.code === null ? 'killed by a signal' : `code ${e.code}`}) after ${(e.upMs / 1000).toFixed(1)} s; restarting in ${e.restartInMs} ms, the rest keeps running`);
      log.warn('child exited; restarting', { ...e });
    } else if (e.type === 'restarted') {
      say(`${e.name} restarted (pid ${e.pid}, restart ${e.restarts})`);
      log.info('child restarted', { ...e });
    } else {
      say(`${e.name} did not come back (${e.error.message.split('\n')[0]}); next try in ${e.restartInMs} ms`);
      log.warn('restart failed', { name: e.name, error: e.error, restartInMs: e.restartInMs });
    }
    if (upAndRunning) writePids();
  };
  let relays: RunningLinkRelays | undefined;
  // Applies the operator's link cut drills (POST /v1/regions/{a}/links/{b}) to the relays.
  let linkCuts: { follower: LinkCutFollower; redis: Redis } | undefined;
  let centrals: CentralMediaSet | undefined;
  let centralDiscovery: MeshDiscovery | undefined;
  let trafficTimer: NodeJS.Timeout | undefined;
  const trafficFile = join(runDir, 'link-relays.json');
  // The in-process parts (central media services, their discovery registrations) log here.
  const logStream = createWriteStream(join(logDir, 'launcher.log'), { flags: 'a' });
  const log = createLogger(config.logLevel, { proc: 'launcher' }, (line) => logStream.write(line + '\n'));
  let stopping = false;
  /** Supervised names of the signaling processes (`<nodeId>#1`, `#2`). */
  const signalingSlots = new Set<string>();

  const stopAll = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true;
      supervisor.halt();
      say('stopping everything this launcher started…');
      const stopOne = async (name: string): Promise<void> => {
        try {
          await supervisor.stop(name, 5000);
          say(`  stopped ${name}`);
        } catch (e) {
          say(`  ${name}: ${(e as Error).message}`);
        }
      };
      const names = supervisor.names().reverse();
      // The two processes of a signaling node stop together: stopped one after the other, the
      // standby would take over (and hang up) the calls the active just let go.
      const signaling = names.filter((n) => signalingSlots.has(n));
      for (const name of names) {
        if (signalingSlots.has(name)) {
          if (name === signaling[0]) await Promise.all(signaling.map(stopOne));
          continue;
        }
        // The central media services and the relays go after the signaling nodes (whose BYEs, branch
        // completions and uploads to other regions pass through them) and before the media nodes.
        if (name.startsWith('rtpengine ')) await closeInProcess();
        await stopOne(name);
      }
      await closeInProcess();
      logStream.end();
    }
    process.exit(code);
  };
  const closeInProcess = async (): Promise<void> => {
    const c = centrals;
    centrals = undefined;
    if (c !== undefined) {
      const open = c.services.map((s) => s.node.service.openBranches);
      await c.close();
      c.services.forEach((s, i) => say(`  stopped central media service ${s.nodeId}${open[i] ? ` (finished ${open[i]} open branches)` : ''}`));
    }
    const d = centralDiscovery;
    centralDiscovery = undefined;
    await d?.close();
    linkCuts?.follower.close();
    linkCuts?.redis.disconnect();
    linkCuts = undefined;
    const r = relays;
    relays = undefined;
    if (r === undefined) return;
    clearInterval(trafficTimer);
    const traffic = r.traffic();
    writeTraffic(trafficFile, traffic);
    for (const t of traffic.filter((x) => x.activePorts.length > 0)) say(`  ${describeTraffic(t)}`);
    await r.close();
    say(`  stopped ${r.relays.length} link relays (traffic in ${trafficFile})`);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    say(`configuration: ${configFile}`);
    const redis = await ensureRedis({ url: config.redis.url, runDir });
    if (redis === null) say(`redis: reusing the server at ${config.redis.url}`);
    else {
      await supervisor.add({
        name: 'redis',
        start: async (n) => {
          if (n === 0) return redis;
          const again = await ensureRedis({ url: config.redis.url, runDir });
          if (again === null) throw new Error(`another Redis now serves ${config.redis.url}; not supervising it`);
          return again;
        },
      });
      say(`redis: started at ${config.redis.url} (AOF on, data in ${join(runDir, 'redis-*')})`);
    }
    await reportDrained(config.redis.url, config.redis.keyPrefix);
    // Every region of the catalog (--single: only the configured region, as the configuration file says).
    const single = process.argv.includes('--single');
    const fullCatalog = loadRegionCatalog(config.regionsFile);
    const catalog = single ? undefined : fullCatalog;
    const central = { httpPort: CENTRAL_MEDIA_HTTP_PORT, rtpPorts: CENTRAL_MEDIA_RTP_PORTS };
    const links: LinkRelayPlan | undefined =
      catalog !== undefined && config.mesh.emulateLinkDelay ? planLinkRelays(catalog, { centralRtpPorts: central.rtpPorts, centralHttpPort: central.httpPort, dtmfPort: config.media.dtmfEventPort }) : undefined;
    const regionCfgs = catalog === undefined ? [config] : regionConfigs(catalog, config, links);
    for (const rc of regionCfgs) {
      for (const n of rc.media.nodes) {
        await supervisor.add({
          name: `rtpengine ${n.id}`,
          start: () => startMediaNode(n, logDir, `${rc.sip.address}:${rc.media.dtmfEventPort}`),
          // A restarted rtpengine has none of its calls: it must stay away until the signaling nodes
          // have seen it dead and confirmed it (a ping interval + ng timeout + a confirming interval),
          // so they re-anchor its calls instead of finding it healthy again with the media gone.
          backoff: { initialMs: mediaRestartMs(rc.media), maxMs: Math.max(10_000, mediaRestartMs(rc.media)) },
        });
        say(`${rc.region}: media node ${n.id}: rtpengine on ${n.address}, ng ${n.address}:${n.ngPort}, RTP ${n.rtpPortMin}-${n.rtpPortMax}`);
      }
    }
    // Central media services: every region's (--single: the configured region's, when the catalog has it).
    centralDiscovery = createMeshDiscovery(config, log);
    centrals = await startCentralMediaSet({
      regions: fullCatalog.regions.filter((r) => !single || r.id === config.region),
      links,
      dataDir: join(runDir, 'central-media'),
      registrar: centralDiscovery.registrar,
      log,
      ...central,
    });
    for (const s of centrals.services) {
      say(`${s.region}: central media service ${s.nodeId}: region link ${s.address}:${s.node.linkPort}, upload ${s.node.uploadUrl}, branch RTP ${central.rtpPorts.min}-${central.rtpPorts.max}; recordings in ${join(runDir, 'central-media', s.region)}`);
    }
    if (links !== undefined && catalog !== undefined) {
      relays = await startLinkRelays(links);
      const running = relays;
      trafficTimer = setInterval(() => writeTraffic(trafficFile, running.traffic()), 5000);
      trafficTimer.unref();
      const cutsRedis = new Redis(config.redis.url, { commandTimeout: 2000, maxRetriesPerRequest: 1, lazyConnect: true });
      cutsRedis.on('error', () => undefined); // the follower logs an outage once
      const prefix = config.redis.keyPrefix;
      linkCuts = { redis: cutsRedis, follower: followLinkCuts(running, { read: () => listLinkCuts(cutsRedis, prefix), log: log.child({ part: 'link-cuts' }) }) };
      say(`link relays: ${relays.relays.length} (SIP over UDP and TCP; region links, uploads and branch RTP to central media services), one-way delays from the region catalog:`);
      for (const [from, row] of Object.entries(links.entries)) {
        for (const [to, address] of Object.entries(row)) say(`  ${from} → ${to}: via ${address}, ${catalog.linkDelay(from, to)} ms each way`);
      }
    } else if (catalog !== undefined) {
      say('link relays: off (mesh.emulateLinkDelay is false); regions talk directly');
    }
    // The platform secrets key (seals API key secrets, which verify access tokens): from configuration,
    // or generated on first start and kept (mode 600) under the run folder. It reaches the processes
    // through their environment, never through the configuration files written below.
    const secretsKey = config.secretsKey ?? persistentSecret(join(runDir, 'secrets-key'), newSecretsKey);
    for (const rc of regionCfgs) {
      const nodeId = rc.nodeId ?? `${rc.region}-sig-1`;
      let file = configFile;
      if (!single) {
        file = join(runDir, `config-${rc.region}.json`);
        writeFileSync(file, JSON.stringify({ ...rc, secretsKey: undefined }, null, 2));
      }
      // Two processes of one node: #1 starts active, #2 as its standby; whichever dies comes
      // back as a standby (the other holds, or is about to take, the node's lease).
      const args = [join(root, 'dist', 'infra', 'node-main.js'), '--config', file];
      for (const slot of [1, 2]) {
        const name = `${nodeId}#${slot}`;
        signalingSlots.add(name);
        const sig = await supervisor.add({
          name,
          start: (n) => {
            const standby = slot === 2 || n > 0;
            return spawnManaged({
              name,
              command: process.execPath,
              args: standby ? [...args, '--standby'] : args,
              env: { SECRETS_KEY: secretsKey },
              logFile: join(logDir, `${nodeId}.${slot}.log`),
              // A standby is ready once it waits for the lease (or took it meanwhile).
              ...(standby ? { readyOutput: 'STANDBY ' } : { isReady: () => sipOptionsPing(rc.sip.address, rc.sip.port, 300) }),
              readyTimeoutMs: 15000,
            });
          },
        });
        say(`${rc.region}: signaling node ${nodeId} ${slot === 1 ? 'active' : 'standby'} (${name}, pid ${sig.pid}): SIP on ${rc.sip.address}:${rc.sip.port} (${rc.sip.transports.join(', ')}); log ${join(logDir, `${nodeId}.${slot}.log`)}`);
      }
    }

    // The control plane: operator password from configuration, or one generated on first start
    // and kept (mode 600) under the run folder so it survives restarts.
    const operatorPassword = config.controlPlane.operatorPassword ?? persistentSecret(join(runDir, 'operator-password'));
    const cpUrl = `http://${config.controlPlane.address}:${config.controlPlane.port}`;
    await supervisor.add({
      name: 'control-plane',
      start: () =>
        spawnManaged({
          name: 'control-plane',
          command: process.execPath,
          args: [join(root, 'dist', 'infra', 'control-plane-main.js'), '--config', configFile],
          env: { ...stringEnv(process.env), OPERATOR_PASSWORD: operatorPassword, SECRETS_KEY: secretsKey },
          logFile: join(logDir, 'control-plane.log'),
          isReady: () => httpOk(`${cpUrl}/openapi.json`),
          readyTimeoutMs: 15000,
        }),
    });
    writePids();
    upAndRunning = true;
    const dev = await devAccount(config.redis.url, config.redis.keyPrefix, config.region);
    say(`control plane: ${cpUrl} (tenant API /2010-04-01, operator API /v1, /metrics, /openapi.json, softphone page /client/)`);
    // The auth token is a secret: it goes to a file only its owner reads, never to the terminal or a log.
    const devFile = join(runDir, 'dev-account');
    writeFileSync(devFile, `${dev.sid}:${dev.authToken}\n`, { mode: 0o600 });
    say(`  development account: ${dev.sid}  (SID:auth token in ${devFile})`);
    say(`  operator: ${config.controlPlane.operatorUser} / password in ${join(runDir, 'operator-password')}`);
    if (config.secretsKey === undefined) say(`  secrets key (seals API key secrets for access tokens): ${join(runDir, 'secrets-key')}`);

    const route = config.routes[0];
    say('');
    say(`regions ${regionCfgs.map((rc) => rc.region).join(', ')} are up. Logs: ${logDir}`);
    if (route !== undefined) {
      const dest = route.destination.replace(/^sips?:/, '');
      const [destHost, destPort] = dest.split(':');
      say('Place a test call with SIPp (two more terminals):');
      say(`  callee: sipp -sn uas -i ${destHost ?? '127.0.0.1'} -p ${destPort ?? '5060'}`);
      say(`  caller: sipp -sn uac -s ${route.prefix}1234567 -i 127.0.0.1 -p 5070 -m 1 ${config.sip.address}:${config.sip.port}`);
      const edge = regionCfgs.find((rc) => rc.region !== config.region);
      if (edge !== undefined) {
        say(`  or enter at the ${edge.region} edge (anchored in ${config.region}, media stays in ${edge.region}):`);
        say(`          sipp -sn uac -s ${route.prefix}1234567 -i 127.0.0.1 -p 5071 -m 1 ${edge.sip.address}:${edge.sip.port}`);
      }
    }
    const recorded = config.recording.prefixes;
    if (recorded.length > 0 && centrals !== undefined && centrals.services.length > 0) {
      say(`Recorded numbers (recording.prefixes): ${recorded.join(', ')}; the home region's central media service stores`);
      say(`  the caller's side as ${join(runDir, 'central-media', '<region>', '<CallSid>', 'caller.{live,upload}.wav')}, e.g. (7 s of PCMA):`);
      const entry = regionCfgs.find((rc) => rc.region !== config.region) ?? config;
      say(`  sipp -sf test/sipp/uac-basic.xml -s ${recorded[0]}000001 -i 127.0.0.1 -p 5072 -m 1 ${entry.sip.address}:${entry.sip.port}`);
    }
    say('A process that dies is restarted (0.5 s backoff doubling to 10 s); Ctrl-C stops everything.');
  } catch (e) {
    say(`start failed: ${(e as Error).message}`);
    await stopAll(1);
  }
}

/** What the relays carried, per region pair and kind, for operators and drills. */
function writeTraffic(file: string, traffic: readonly LinkRelayTraffic[]): void {
  try {
    writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), traffic }, null, 2));
  } catch {
    // A full disk must not stop the relays; the next write retries.
  }
}

function describeTraffic(t: LinkRelayTraffic): string {
  const what = t.datagrams !== undefined ? `${t.datagrams.toTarget} datagrams → ${t.to}, ${t.datagrams.toNear} back, ${t.datagrams.dropped} dropped` : `${t.connections?.accepted ?? 0} connections`;
  return `${t.from} → ${t.to} ${t.kind}/${t.protocol}: ${what} (ports ${t.activePorts.join(', ')})`;
}

/** A random secret kept in `file` (created with mode 600 on first use). */
function persistentSecret(file: string, generate: () => string = () => randomBytes(18).toString('base64url')): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = generate();
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(500) });
    return r.ok;
  } catch {
    return false;
  }
}

async function devAccount(url: string, prefix: string, region: string): Promise<{ sid: string; authToken: string }> {
  const redis = new Redis(url, { commandTimeout: 2000, maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    const { account } = await ensureDevAccount(redis, prefix, region);
    return { sid: account.sid, authToken: account.authToken };
  } finally {
    redis.disconnect();
  }
}

/** Drained nodes are operator state kept in Redis across restarts: say so at start, and how to undo it. */
async function reportDrained(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { commandTimeout: 2000, maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    const drained = await listDrainedNodes(redis, prefix);
    if (drained.length > 0) {
      say(`drained nodes (operator state, kept in Redis): ${drained.map((d) => `${d.nodeId} since ${d.since ?? '?'}`).join(', ')}`);
      say('  undo with POST /v1/drills {"action":"undrain","nodeId":"…"}');
    }
  } catch {
    // Only a report: the nodes read the set themselves.
  } finally {
    redis.disconnect();
  }
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

void main();
