import dgram from 'node:dgram';
import { renameSync, statSync } from 'node:fs';
import { NgClient } from '../media/ng/client.js';
import { MeshError } from '../regions/core/errors.js';
import { spawnManaged, type ManagedProcess } from './process.js';

/**
 * Launch one rtpengine media node in userspace mode (no kernel module), with
 * its own interface address, ng port and RTP port range. Flags checked
 * against `rtpengine --help` of Debian's rtpengine-daemon 10.5.
 */

export interface StartRtpengineOptions {
  /** Node id, used in the process name. */
  id: string;
  /** Address RTP is bound to and written into SDP; also the ng listen address. */
  interfaceAddress: string;
  ngPort: number;
  portMin: number;
  portMax: number;
  /** stdout/stderr are appended here. */
  logFile?: string;
  /**
   * Seconds a deleted call (and its RTP ports) is kept after `delete`. Default
   * 0: rtpengine's own default (30 s) holds every short call's ports for half
   * a minute after it ended, so at hundreds of calls per second the port range
   * runs out ("Ran out of ports") long before the calls themselves fill it;
   * nothing here queries a call after deleting it.
   */
  deleteDelaySec?: number;
  /**
   * Log level 0..7 (syslog levels). Default 5 (notice): at 6 (info) rtpengine
   * logs several lines per call ("List of codecs empty", offer/answer/delete),
   * ~2 KB a call, which filled 98 MB after 50k calls of `make start`.
   */
  logLevel?: number;
  /** A log file larger than this at start is moved to `<logFile>.1` (replacing the previous one) first. Default 20 MiB. */
  logRotateBytes?: number;
  /** rtpengine binary. Default /usr/bin/rtpengine. */
  binary?: string;
  /** `--dtmf-log-dest=IP:PORT`: where rtpengine sends one JSON datagram per DTMF digit (media/leg DtmfEvents). Default: none. */
  dtmfLogDest?: string;
  /** Extra flags appended last (they win over ours). */
  extraArgs?: string[];
  /** Default 10000 ms. */
  readyTimeoutMs?: number;
}

export const RTPENGINE_BINARY = '/usr/bin/rtpengine';

export function rtpengineArgs(opts: StartRtpengineOptions): string[] {
  const ng = opts.interfaceAddress.includes(':') ? `[${opts.interfaceAddress}]:${opts.ngPort}` : `${opts.interfaceAddress}:${opts.ngPort}`;
  return [
    // Ignore /etc/rtpengine/rtpengine.conf from the Debian package.
    '--config-file=none',
    // -1: no kernel forwarding table; everything is relayed in userspace.
    '--table=-1',
    `--interface=${opts.interfaceAddress}`,
    `--listen-ng=${ng}`,
    `--port-min=${opts.portMin}`,
    `--port-max=${opts.portMax}`,
    '--foreground',
    '--log-stderr',
    `--log-level=${opts.logLevel ?? 5}`,
    `--delete-delay=${opts.deleteDelaySec ?? 0}`,
    ...(opts.dtmfLogDest === undefined ? [] : [`--dtmf-log-dest=${opts.dtmfLogDest}`]),
    ...(opts.extraArgs ?? []),
  ];
}

/** Start rtpengine; resolves once it answers an ng `ping`. */
export async function startRtpengine(opts: StartRtpengineOptions): Promise<ManagedProcess> {
  if (!Number.isInteger(opts.portMin) || !Number.isInteger(opts.portMax) || opts.portMin > opts.portMax) {
    throw new MeshError('CONFIG_INVALID', `rtpengine ${opts.id}: invalid RTP port range ${opts.portMin}-${opts.portMax}`);
  }
  await assertUdpPortFree(opts.interfaceAddress, opts.ngPort, opts.id);
  if (opts.logFile !== undefined) rotateLog(opts.logFile, opts.logRotateBytes ?? 20 * 1024 * 1024);
  const probe = new NgClient({ address: opts.interfaceAddress, port: opts.ngPort, timeoutMs: 200, retransmitMs: 100 });
  try {
    return await spawnManaged({
      name: `rtpengine ${opts.id}`,
      command: opts.binary ?? RTPENGINE_BINARY,
      args: rtpengineArgs(opts),
      ...(opts.logFile === undefined ? {} : { logFile: opts.logFile }),
      readyTimeoutMs: opts.readyTimeoutMs ?? 10_000,
      isReady: async () => {
        await probe.ping();
        return true;
      },
    });
  } finally {
    await probe.close();
  }
}

/**
 * Keep one previous log: a file over `maxBytes` becomes `<file>.1` before the
 * new process appends, so restarts of a long-running mesh do not grow one
 * file without bound. (Within one run the level, 5, keeps the volume small.)
 */
export function rotateLog(file: string, maxBytes: number): void {
  try {
    if (statSync(file).size > maxBytes) renameSync(file, `${file}.1`);
  } catch {
    // no file yet, or it cannot be moved: append to it as before
  }
}

/**
 * Fail before spawning when something already holds the ng port: otherwise
 * a leftover rtpengine would answer our readiness ping while the new one
 * exits on its bind error, and we would report a dead process as ready.
 */
async function assertUdpPortFree(address: string, port: number, id: string): Promise<void> {
  const socket = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => resolve());
    });
  } catch (e) {
    throw new MeshError('CONFLICT', `rtpengine ${id}: ng address ${address}:${port} is already in use (${(e as Error).message})`, { cause: e });
  } finally {
    await new Promise<void>((r) => {
      try {
        socket.close(() => r());
      } catch {
        r();
      }
    });
  }
}

/** Start the rtpengine of one configured media node, logging to `<logDir>/<id>.log`. */
export function startMediaNode(
  node: { id: string; address: string; ngPort: number; rtpPortMin: number; rtpPortMax: number },
  logDir: string,
  /** Where rtpengine reports DTMF digits: the region signaling node's `sip.address:media.dtmfEventPort`. */
  dtmfLogDest?: string,
): Promise<ManagedProcess> {
  return startRtpengine({
    ...(dtmfLogDest !== undefined ? { dtmfLogDest } : {}),
    id: node.id,
    interfaceAddress: node.address,
    ngPort: node.ngPort,
    portMin: node.rtpPortMin,
    portMax: node.rtpPortMax,
    logFile: `${logDir}/${node.id}.log`,
  });
}
