/**
 * Starts and stops the delay relays of a link plan (`link-delays.ts`): a
 * `UdpDelayRelay` for SIP over UDP and media branches, a `DelayRelay` for
 * SIP over TCP and region links. All or nothing: when one relay cannot bind,
 * the ones already up are closed and the error names the relay.
 */
import { MeshError } from '../regions/core/errors.js';
import { DelayRelay } from '../regions/link/delay-relay.js';
import { UdpDelayRelay } from '../regions/link/udp-delay-relay.js';
import type { LinkRelayPlan, LinkRelaySpec } from './link-delays.js';

/** Largest SIP datagram relayed (UDP's limit over IPv4); an INVITE with SDP is far over RTP's 2 KiB default. */
const MAX_SIP_DATAGRAM = 65507;

export interface RunningLinkRelay {
  readonly spec: LinkRelaySpec;
  readonly relay: DelayRelay | UdpDelayRelay;
}

export interface RunningLinkRelays {
  readonly plan: LinkRelayPlan;
  readonly relays: readonly RunningLinkRelay[];
  /** Cut (true) or restore (false) every relay from `from` to `to` (failover drills). */
  setBlocked(from: string, to: string, blocked: boolean): void;
  /** New one-way delay for traffic from now on, on every relay or those from `from` to `to`. */
  setDelay(ms: number, from?: string, to?: string): void;
  /** Close every relay. Idempotent. */
  close(): Promise<void>;
}

export async function startLinkRelays(plan: LinkRelayPlan): Promise<RunningLinkRelays> {
  const running: RunningLinkRelay[] = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= Promise.all(running.map((r) => r.relay.close())).then(() => undefined));
  try {
    for (const spec of plan.relays) running.push({ spec, relay: await startOne(spec) });
  } catch (e) {
    await close();
    throw e;
  }
  return {
    plan,
    relays: running,
    setBlocked(from, to, blocked) {
      for (const r of running) if (r.spec.from === from && r.spec.to === to) r.relay.setBlocked(blocked);
    },
    setDelay(ms, from, to) {
      for (const r of running) if ((from === undefined || r.spec.from === from) && (to === undefined || r.spec.to === to)) r.relay.setDelay(ms);
    },
    close,
  };
}

async function startOne(spec: LinkRelaySpec): Promise<DelayRelay | UdpDelayRelay> {
  const what = `${spec.kind} ${spec.protocol} relay ${spec.from}→${spec.to} on ${spec.listen.address}:${spec.listen.port}`;
  try {
    if (spec.protocol === 'udp') {
      const relay = new UdpDelayRelay({
        listenHost: spec.listen.address,
        listenPort: spec.listen.port,
        targetHost: spec.target.address,
        targetPort: spec.target.port,
        localAddress: spec.source.address,
        localPort: spec.source.port,
        delayMs: spec.delayMs,
        ...(spec.near !== undefined ? { near: { ...spec.near } } : {}),
        ...(spec.kind === 'sip' ? { maxDatagramBytes: MAX_SIP_DATAGRAM } : {}),
      });
      try {
        await relay.start();
      } catch (e) {
        await relay.close();
        throw e;
      }
      return relay;
    }
    const relay = new DelayRelay({
      listenHost: spec.listen.address,
      listenPort: spec.listen.port,
      targetHost: spec.target.address,
      targetPort: spec.target.port,
      localAddress: spec.source.address,
      delayMs: spec.delayMs,
      ...(spec.near !== undefined ? { allowFrom: [spec.near.address] } : {}),
    });
    try {
      await relay.listen();
    } catch (e) {
      await relay.close();
      throw e;
    }
    return relay;
  } catch (e) {
    throw new MeshError('TRANSPORT_ERROR', `${what}: ${(e as Error).message}`, { cause: e });
  }
}
