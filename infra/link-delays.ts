/**
 * The emulated inter-region links of the embedded default, as a plan: which
 * user-space delay relays to start so that traffic between regions is delayed
 * by the catalog's one-way link delay (the kernel here has no netem). Pure:
 * catalog in, plan out; `link-relays.ts` starts what the plan says.
 *
 * Address scheme (documented in infra/README.md): inside region A's subnet,
 * region B is reached at host `firstHost + index of B in the catalog`, i.e.
 * `127.0.<A>.(100 + i)` in the embedded default:
 *
 *   | seen from \ region | us-east (0) | eu-west (1) | ap-south (2) |
 *   |---|---|---|---|
 *   | us-east  | —           | 127.0.1.101 | 127.0.1.102 |
 *   | eu-west  | 127.0.2.100 | —           | 127.0.2.102 |
 *   | ap-south | 127.0.3.100 | 127.0.3.101 | —           |
 *
 * The relay for traffic from A to B listens on A's view of B (`entry(A, B)`,
 * in A's subnet) with the far service's port, and talks to B's service from
 * B's view of A (`entry(B, A)`, in B's subnet). So each region sees every
 * other region as one address in its own subnet, like a static NAT: B sees
 * A's SIP requests arrive from `entry(B, A)`, which is exactly the address B
 * has for A as a mesh peer; B's responses (RFC 3261 §18.2.2 / RFC 3581
 * `received` + `rport`) and its in-dialog requests (the B2BUA sends them to
 * the address the INVITE came from) go back to the relay, and are delayed too.
 * Every relay delays both directions, so a round trip costs 2 × delay. A SIP
 * relay admits only the sending region's signaling node: B trusts the relay's
 * source as region A, so no one else in A's subnet may borrow it.
 */
import { MeshError } from '../regions/core/errors.js';
import type { RegionId } from '../regions/core/ids.js';
import type { RegionCatalog } from '../regions/catalog.js';
import { intToIpv4, parseIpv4Subnet } from '../regions/catalog/ipv4.js';

/**
 * What a relay carries: SIP between signaling nodes, the region link to a
 * central media service, a media branch's RTP to it, the HTTP upload of an
 * edge's local copy to it, or the digits an edge passes on to the home region
 * of an application call whose media stays at the edge.
 */
export type LinkRelayKind = 'sip' | 'region-link' | 'central-rtp' | 'central-upload' | 'dtmf';

export interface RelayEndpoint {
  readonly address: string;
  /** 0 for a source port: any free one. */
  readonly port: number;
}

export interface LinkRelaySpec {
  readonly kind: LinkRelayKind;
  readonly protocol: 'udp' | 'tcp';
  /** Region whose traffic enters the relay. */
  readonly from: RegionId;
  /** Region the relay delivers to. */
  readonly to: RegionId;
  /** One-way delay added in each direction: the catalog's `links[from][to]`, ms. */
  readonly delayMs: number;
  /** Where `from` sends: `entry(from, to)` and the service's port. */
  readonly listen: RelayEndpoint;
  /** The relay's own end towards `to`: address `entry(to, from)`, any port. */
  readonly source: RelayEndpoint;
  /** The real service in `to`. */
  readonly target: RelayEndpoint;
  /**
   * The only sender admitted (over TCP only its address counts). SIP relays
   * admit only `from`'s signaling node, because `to` trusts what arrives from
   * the relay's source as that node (mesh peer). Absent: anyone.
   */
  readonly near?: RelayEndpoint;
}

export interface LinkRelayPlan {
  /** `entries[a][b]`: the address by which region `a` reaches region `b` (in a's subnet). */
  readonly entries: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly relays: readonly LinkRelaySpec[];
}

export interface LinkRelayPlanOptions {
  /** Host number of the first region's entry in every subnet. Default 100 (region i at `.100 + i`). */
  firstHost?: number;
  /** SIP transports relayed between signaling nodes. Default both (mesh peers use UDP; TCP for peers configured so). */
  sipProtocols?: readonly ('udp' | 'tcp')[];
  /**
   * UDP ports of each central media service that receive media branches; the
   * even ones are relayed (RFC 3550 §11: RTP on even ports, and the service
   * hands out only those). Default none: no central media service is running.
   */
  centralRtpPorts?: { min: number; max: number };
  /**
   * TCP port of each central media service's HTTP upload endpoint (on the
   * service's address); relayed like the region link. Default none.
   */
  centralHttpPort?: number;
  /**
   * UDP port of every signaling node's DTMF listener (`media.dtmfEventPort`):
   * an edge passes an application call's digits on to its home through the
   * link. Default none: no DTMF relays.
   */
  dtmfPort?: number;
}

/** Most central RTP relays per ordered region pair, so a typo in a range cannot open thousands of sockets. */
export const MAX_CENTRAL_RTP_PORTS = 256;

/** The relays that put the catalog's link delays on every path between regions. Throws CONFIG_INVALID when the scheme does not fit. */
export function planLinkRelays(catalog: RegionCatalog, opts: LinkRelayPlanOptions = {}): LinkRelayPlan {
  const firstHost = opts.firstHost ?? 100;
  const sipProtocols = opts.sipProtocols ?? ['udp', 'tcp'];
  const regions = catalog.regions;
  const rtpPorts = centralPorts(opts.centralRtpPorts);
  const httpPort = opts.centralHttpPort;
  if (httpPort !== undefined && (!Number.isInteger(httpPort) || httpPort < 1 || httpPort > 65535)) {
    throw new MeshError('CONFIG_INVALID', `central HTTP port ${httpPort} is invalid (1..65535)`);
  }
  if (opts.dtmfPort !== undefined && (!Number.isInteger(opts.dtmfPort) || opts.dtmfPort < 1 || opts.dtmfPort > 65535)) {
    throw new MeshError('CONFIG_INVALID', `DTMF port ${opts.dtmfPort} is invalid (1..65535)`);
  }

  // Addresses the catalog already gives out: a relay must never take one.
  const taken = new Map<string, string>();
  for (const r of regions) {
    taken.set(r.signaling.address, `${r.id} signaling`);
    taken.set(r.centralMedia.address, `${r.id} central media`);
    for (const n of r.mediaNodes) taken.set(n.address, `media node ${n.id}`);
  }

  const entries: Record<string, Record<string, string>> = {};
  regions.forEach((a) => {
    const subnet = parseIpv4Subnet(a.subnet);
    if (subnet === undefined) throw new MeshError('CONFIG_INVALID', `region ${a.id}: subnet ${a.subnet} is not an IPv4 CIDR block`);
    const size = 2 ** (32 - subnet.prefix);
    const row: Record<string, string> = {};
    regions.forEach((b, i) => {
      if (b.id === a.id) return;
      const host = firstHost + i;
      // Host 0 is the network and the last one the broadcast address of the block.
      if (!Number.isInteger(host) || host < 1 || host >= size - 1) {
        throw new MeshError('CONFIG_INVALID', `region ${a.id}: no room in ${a.subnet} for the link address of ${b.id} (host ${host})`);
      }
      const address = intToIpv4((subnet.network + host) >>> 0);
      const owner = taken.get(address);
      if (owner !== undefined) throw new MeshError('CONFIG_INVALID', `region ${a.id}: link address ${address} for ${b.id} is already used by ${owner}`);
      row[b.id] = address;
    });
    entries[a.id] = row;
  });

  const relays: LinkRelaySpec[] = [];
  for (const a of regions) {
    for (const b of regions) {
      if (a.id === b.id) continue;
      const listenAddress = entries[a.id]?.[b.id] as string;
      const sourceAddress = entries[b.id]?.[a.id] as string;
      const base = { from: a.id, to: b.id, delayMs: catalog.linkDelay(a.id, b.id), source: { address: sourceAddress, port: 0 } };
      for (const protocol of sipProtocols) {
        relays.push({ ...base, kind: 'sip', protocol, listen: { address: listenAddress, port: b.signaling.port }, target: { ...b.signaling }, near: { ...a.signaling } });
      }
      relays.push({
        ...base,
        kind: 'region-link',
        protocol: 'tcp',
        listen: { address: listenAddress, port: b.centralMedia.port },
        target: { address: b.centralMedia.address, port: b.centralMedia.port },
      });
      if (httpPort !== undefined) {
        relays.push({
          ...base,
          kind: 'central-upload',
          protocol: 'tcp',
          listen: { address: listenAddress, port: httpPort },
          target: { address: b.centralMedia.address, port: httpPort },
        });
      }
      if (opts.dtmfPort !== undefined) {
        const dtmf = { address: b.signaling.address, port: opts.dtmfPort };
        relays.push({ ...base, kind: 'dtmf', protocol: 'udp', listen: { address: listenAddress, port: opts.dtmfPort }, target: dtmf, near: { address: a.signaling.address, port: opts.dtmfPort } });
      }
      for (const port of rtpPorts) {
        relays.push({ ...base, kind: 'central-rtp', protocol: 'udp', listen: { address: listenAddress, port }, target: { address: b.centralMedia.address, port } });
      }
    }
  }
  assertNoClash(relays);
  return { entries, relays };
}

/** Address by which region `from` reaches region `to`; undefined within a region or for an unknown pair. */
export function linkEntry(plan: LinkRelayPlan, from: string, to: string): string | undefined {
  return plan.entries[from]?.[to];
}

/**
 * The address `from` should use for `address` of region `to`: the relay entry
 * when there is one, else the address itself (same region, links disabled).
 */
export function reachAddress(plan: LinkRelayPlan | undefined, from: string, to: string, address: string): string {
  if (plan === undefined || from === to) return address;
  return linkEntry(plan, from, to) ?? address;
}

/**
 * Where region `from` must send to reach `target` (a service in another
 * region) through the link: the listen endpoint of the relay from `from` to
 * that target, or undefined when the plan has none (same region, not
 * relayed). E.g. the edge maps the receive address a central media service
 * answers a branch set-up with, so the branch's RTP crosses the link relay.
 */
export function relayFor(plan: LinkRelayPlan | undefined, from: string, target: RelayEndpoint, protocol: 'udp' | 'tcp' = 'udp'): RelayEndpoint | undefined {
  const r = plan?.relays.find((x) => x.from === from && x.protocol === protocol && x.target.address === target.address && x.target.port === target.port);
  return r === undefined ? undefined : { ...r.listen };
}

function centralPorts(range: { min: number; max: number } | undefined): number[] {
  if (range === undefined) return [];
  const { min, max } = range;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1024 || max > 65535 || min > max) {
    throw new MeshError('CONFIG_INVALID', `central RTP port range ${min}-${max} is invalid (1024..65535, min <= max)`);
  }
  const ports: number[] = [];
  for (let p = min + (min % 2); p <= max; p += 2) ports.push(p);
  if (ports.length > MAX_CENTRAL_RTP_PORTS) {
    throw new MeshError('CONFIG_INVALID', `central RTP port range ${min}-${max} has ${ports.length} even ports; at most ${MAX_CENTRAL_RTP_PORTS}`);
  }
  return ports;
}

/** Two relays on one address, protocol and port would fail to bind: say which, before anything starts. */
function assertNoClash(relays: readonly LinkRelaySpec[]): void {
  const seen = new Map<string, LinkRelaySpec>();
  for (const r of relays) {
    const key = `${r.protocol} ${r.listen.address}:${r.listen.port}`;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new MeshError('CONFIG_INVALID', `link relays ${other.kind} ${other.from}→${other.to} and ${r.kind} ${r.from}→${r.to} both need ${key}`);
    }
    seen.set(key, r);
  }
}
