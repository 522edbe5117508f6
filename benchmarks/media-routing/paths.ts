/**
 * The four media paths the benchmark compares, built per stream:
 *
 * - `direct`:   sender → receiver (loopback baseline)
 * - `edge`:     sender → edge rtpengine → receiver (media anchored where the callers are)
 * - `trombone`: sender → link → home rtpengine → link → receiver (media forced through the home region)
 * - `remote`:   sender → edge rtpengine → link → remote rtpengine → link → receiver
 *               (a capability that exists only in another region)
 *
 * A "link" is a UdpDelayRelay adding the one-way inter-region delay, run in
 * the link worker thread. Each stream is its own rtpengine call (offer +
 * answer), so rtpengine does per-call work as it would for real calls.
 * Only the caller → callee direction carries probes: one-way latency needs
 * nothing back, and rtpengine learns the caller's source from its packets.
 */
import type { NgClient } from '../../media/ng/client.js';
import type { UdpRelayEndpoints } from '../../regions/link/udp-delay-relay.js';
import type { RelaySpec } from './link-worker.js';
import type { BenchWorker } from './workers.js';

export const CASES = ['direct', 'edge', 'trombone', 'remote'] as const;
export type CaseName = (typeof CASES)[number];

export interface Address {
  address: string;
  port: number;
}

export interface PathContext {
  edge: NgClient;
  home: NgClient;
  remote: NgClient;
  /** Outbound and return links run in separate threads (a busy 2-core host schedules threads, not processes). */
  links: { out: BenchWorker; back: BenchWorker };
  linkDelayMs: number;
  /** Address the outbound and return link relays listen on. */
  linkHosts: { out: string; back: string };
  senders: Address[];
  receivers: Address[];
  /** Unique per run, so Call-IDs never repeat across runs. */
  runId: string;
}

export interface BuiltPaths {
  /** Where each stream's sender sends. */
  targets: Address[];
  /** Delete the calls and close the relays; resolves with the relays' drop counters. */
  teardown(): Promise<Record<string, number> | undefined>;
}

function audioSdp(at: Address, session: number): string {
  return ['v=0', `o=- ${session} 1 IN IP4 ${at.address}`, 's=-', `c=IN IP4 ${at.address}`, 't=0 0',
    `m=audio ${at.port} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', 'a=ptime:20', 'a=sendrecv', ''].join('\r\n');
}

function sdpTarget(sdp: string): Address {
  const c = /^c=IN IP4 (\S+)/m.exec(sdp);
  const m = /^m=audio (\d+) /m.exec(sdp);
  if (c?.[1] === undefined || m?.[1] === undefined) throw new Error(`rtpengine SDP without c= or m=audio:\n${sdp}`);
  return { address: c[1], port: Number(m[1]) };
}

/** One rtpengine call from `caller` to `callee`; resolves with the address the caller must send to. */
async function anchor(ng: NgClient, callId: string, caller: Address, callee: Address): Promise<Address> {
  const common = { callId, fromTag: 'caller', replace: ['origin', 'session-connection'] as ('origin' | 'session-connection')[], ice: 'remove' as const };
  await ng.offer({ ...common, sdp: audioSdp(caller, 1) });
  const answer = await ng.answer({ ...common, toTag: 'callee', sdp: audioSdp(callee, 2) });
  return sdpTarget(answer.sdp);
}

async function openRelays(link: BenchWorker, specs: RelaySpec[]): Promise<UdpRelayEndpoints[]> {
  const r = await link.request<{ endpoints?: UdpRelayEndpoints[]; error?: string }>({ type: 'open', specs }, 'opened');
  if (r.endpoints === undefined) throw new Error(`link worker: ${r.error ?? 'no endpoints'}`);
  return r.endpoints;
}

/** Run `fn` over 0..n-1 with at most `width` in flight (ng is UDP; a burst of 400 requests would just retransmit). */
async function inBatches<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  for (let base = 0; base < n; base += width) {
    const idx = Array.from({ length: Math.min(width, n - base) }, (_, j) => base + j);
    const rs = await Promise.all(idx.map(fn));
    idx.forEach((i, j) => (out[i] = rs[j] as T));
  }
  return out;
}

/** Counts builds, so a case run in several rounds never reuses a Call-ID. */
let builds = 0;

export async function buildPaths(name: CaseName, ctx: PathContext): Promise<BuiltPaths> {
  const n = ctx.receivers.length;
  const build = ++builds;
  const calls: { ng: NgClient; callId: string }[] = [];
  const callId = (node: string, i: number): string => `bench-${ctx.runId}-${build}-${name}-${node}-${i}`;
  const receiver = (i: number): Address => ctx.receivers[i] as Address;
  const sender = (i: number): Address => ctx.senders[i] as Address;
  let usesLinks = false;
  const teardown = async (): Promise<Record<string, number> | undefined> => {
    await inBatches(calls.length, 50, async (i) => {
      const c = calls[i];
      if (c !== undefined) await c.ng.delete({ callId: c.callId }).catch(() => undefined);
    });
    if (!usesLinks) return undefined;
    const [a, b] = await Promise.all([ctx.links.out, ctx.links.back].map((w) => w.request<{ dropped: Record<string, number> }>({ type: 'close-all' }, 'closed-all')));
    const dropped: Record<string, number> = { ...a?.dropped };
    for (const [k, v] of Object.entries(b?.dropped ?? {})) dropped[k] = (dropped[k] ?? 0) + v;
    return dropped;
  };
  const track = async (ng: NgClient, id: string, caller: Address, callee: Address): Promise<Address> => {
    calls.push({ ng, callId: id });
    return anchor(ng, id, caller, callee);
  };

  try {
    switch (name) {
      case 'direct':
        return { targets: ctx.receivers.slice(), teardown };
      case 'edge': {
        const targets = await inBatches(n, 50, (i) => track(ctx.edge, callId('edge', i), sender(i), receiver(i)));
        return { targets, teardown };
      }
      case 'trombone': {
        usesLinks = true;
        // Return link first: the home rtpengine's callee address is its listen side.
        const back = await openRelays(ctx.links.back, ctx.receivers.map((r) => ({ listenHost: ctx.linkHosts.back, targetHost: r.address, targetPort: r.port, delayMs: ctx.linkDelayMs })));
        const homePorts = await inBatches(n, 50, (i) => track(ctx.home, callId('home', i), sender(i), (back[i] as UdpRelayEndpoints).listen));
        const out = await openRelays(ctx.links.out, homePorts.map((h) => ({ listenHost: ctx.linkHosts.out, targetHost: h.address, targetPort: h.port, delayMs: ctx.linkDelayMs })));
        return { targets: out.map((o) => o.listen), teardown };
      }
      case 'remote': {
        usesLinks = true;
        const back = await openRelays(ctx.links.back, ctx.receivers.map((r) => ({ listenHost: ctx.linkHosts.back, targetHost: r.address, targetPort: r.port, delayMs: ctx.linkDelayMs })));
        const remotePorts = await inBatches(n, 50, (i) => track(ctx.remote, callId('remote', i), sender(i), (back[i] as UdpRelayEndpoints).listen));
        const out = await openRelays(ctx.links.out, remotePorts.map((h) => ({ listenHost: ctx.linkHosts.out, targetHost: h.address, targetPort: h.port, delayMs: ctx.linkDelayMs })));
        const targets = await inBatches(n, 50, (i) => track(ctx.edge, callId('edge', i), sender(i), (out[i] as UdpRelayEndpoints).listen));
        return { targets, teardown };
      }
    }
  } catch (e) {
    await teardown().catch(() => undefined);
    throw e;
  }
}
