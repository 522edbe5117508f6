import dgram from 'node:dgram';
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
  /** Seconds a deleted call stays queryable. Default 1 (short, so tests see deletes promptly). */
  deleteDelaySec?: number;
  /** Log level 0..7 (syslog levels). Default 6 (info). */
  logLevel?: number;
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
    `--log-level=${opts.logLevel ?? 6}`,
    `--delete-delay=${opts.deleteDelaySec ?? 1}`,
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
