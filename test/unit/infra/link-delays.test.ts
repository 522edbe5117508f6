import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../infra/config.js';
import { linkEntry, planLinkRelays, reachAddress, relayFor, type LinkRelayPlanOptions } from '../../../infra/link-delays.js';
import { regionConfigs } from '../../../infra/region-configs.js';
import { defaultRegionsFile, loadRegionCatalog, parseRegionCatalog } from '../../../regions/catalog.js';
import { isMeshError, type MeshError } from '../../../regions/core/errors.js';
import { ipv4ToInt, parseIpv4Subnet, subnetContains } from '../../../regions/catalog/ipv4.js';

const catalog = loadRegionCatalog(undefined, {});
const raw = (): any => JSON.parse(readFileSync(defaultRegionsFile(), 'utf8'));

function inSubnet(address: string, region: string): boolean {
  return subnetContains(parseIpv4Subnet(catalog.region(region).subnet)!, ipv4ToInt(address)!);
}

function planError(input: unknown, opts?: LinkRelayPlanOptions): string {
  try {
    planLinkRelays(parseRegionCatalog(input), opts);
  } catch (e) {
    expect(isMeshError(e, 'CONFIG_INVALID')).toBe(true);
    return (e as MeshError).message;
  }
  throw new Error('expected the plan to be refused');
}

describe('link relay plan of the embedded default', () => {
  const plan = planLinkRelays(catalog);

  it('puts region i at host 100 + i of every other region\'s subnet', () => {
    expect(plan.entries).toEqual({
      'us-east': { 'eu-west': '127.0.1.101', 'ap-south': '127.0.1.102' },
      'eu-west': { 'us-east': '127.0.2.100', 'ap-south': '127.0.2.102' },
      'ap-south': { 'us-east': '127.0.3.100', 'eu-west': '127.0.3.101' },
    });
    expect(linkEntry(plan, 'eu-west', 'us-east')).toBe('127.0.2.100');
    expect(linkEntry(plan, 'us-east', 'us-east')).toBeUndefined();
  });

  it('has, per ordered pair, SIP over UDP and TCP and the region link, each with the catalog delay', () => {
    const pairs = catalog.regionIds.flatMap((a) => catalog.regionIds.filter((b) => b !== a).map((b) => [a, b] as const));
    expect(pairs).toHaveLength(6);
    expect(plan.relays).toHaveLength(6 * 3);
    for (const [a, b] of pairs) {
      const mine = plan.relays.filter((r) => r.from === a && r.to === b);
      expect(mine.map((r) => `${r.kind}/${r.protocol}`).sort()).toEqual(['region-link/tcp', 'sip/tcp', 'sip/udp']);
      for (const r of mine) expect(r.delayMs).toBe(catalog.linkDelay(a, b));
    }
    const delay = (a: string, b: string): number[] => [...new Set(plan.relays.filter((r) => r.from === a && r.to === b).map((r) => r.delayMs))];
    expect(delay('us-east', 'eu-west')).toEqual([40]);
    expect(delay('eu-west', 'ap-south')).toEqual([60]);
    expect(delay('ap-south', 'us-east')).toEqual([110]);
  });

  it('listens in the sender\'s subnet, talks from the receiver\'s view of the sender, and targets the real service', () => {
    for (const r of plan.relays) {
      expect(inSubnet(r.listen.address, r.from)).toBe(true);
      expect(inSubnet(r.source.address, r.to)).toBe(true);
      expect(r.listen.address).toBe(plan.entries[r.from]![r.to]);
      expect(r.source).toEqual({ address: plan.entries[r.to]![r.from], port: 0 });
      const to = catalog.region(r.to);
      if (r.kind === 'sip') {
        expect(r.target).toEqual(to.signaling);
        expect(r.listen.port).toBe(to.signaling.port);
        // Only the sending region's signaling node may use it: the far side trusts its source as that node.
        expect(r.near).toEqual(catalog.region(r.from).signaling);
      } else {
        expect(r.target).toEqual({ address: to.centralMedia.address, port: to.centralMedia.port });
        expect(r.listen.port).toBe(to.centralMedia.port);
        expect(r.near).toBeUndefined();
      }
    }
  });

  it('uses no address the catalog gives to a signaling node, media node or central service', () => {
    const used = new Set(catalog.regions.flatMap((r) => [r.signaling.address, r.centralMedia.address, ...r.mediaNodes.map((n) => n.address)]));
    for (const r of plan.relays) {
      expect(used.has(r.listen.address)).toBe(false);
      expect(used.has(r.source.address)).toBe(false);
    }
  });

  it('is a pure function of the catalog: same input, same plan', () => {
    expect(planLinkRelays(loadRegionCatalog(undefined, {}))).toEqual(plan);
  });
});

describe('signaling configurations with the plan', () => {
  const base = parseConfig({ recording: { prefixes: ['+1555'], central: { region: 'us-east', address: '127.0.1.20', port: 8090 } } });
  const plan = planLinkRelays(catalog);

  it('makes each region reach its peers through the relay entry, and see them arrive from the same address', () => {
    const cfgs = regionConfigs(catalog, base, plan);
    const byRegion = new Map(cfgs.map((c) => [c.region, c]));
    for (const spec of plan.relays.filter((r) => r.kind === 'sip' && r.protocol === 'udp')) {
      const sender = byRegion.get(spec.from)!;
      const receiver = byRegion.get(spec.to)!;
      // The sender sends to its peer entry: the relay's listen endpoint.
      const peer = sender.mesh.peers.find((p) => p.region === spec.to)!;
      expect({ address: peer.address, port: peer.port }).toEqual(spec.listen);
      // The receiver sees the relay's source address, which it trusts as the sender's signaling node.
      expect(receiver.mesh.peers.find((p) => p.address === spec.source.address)?.region).toBe(spec.from);
    }
  });

  it('reaches the home central media service through the relay from other regions, directly at home', () => {
    const cfgs = regionConfigs(catalog, base, plan);
    expect(cfgs.map((c) => [c.region, c.recording.central?.address, c.recording.central?.port])).toEqual([
      ['us-east', '127.0.1.20', 8090],
      ['eu-west', '127.0.2.100', 8090],
      ['ap-south', '127.0.3.100', 8090],
    ]);
    const link = plan.relays.find((r) => r.kind === 'region-link' && r.from === 'eu-west' && r.to === 'us-east')!;
    expect(link.listen).toEqual({ address: '127.0.2.100', port: 8090 });
    expect(link.target).toEqual({ address: '127.0.1.20', port: 8090 });
  });

  it('leaves every address direct without a plan (mesh.emulateLinkDelay false)', () => {
    const cfgs = regionConfigs(catalog, parseConfig({ ...base, mesh: { emulateLinkDelay: false } }));
    for (const c of cfgs) {
      for (const p of c.mesh.peers) expect(p.address).toBe(catalog.region(p.region).signaling.address);
      expect(c.recording.central?.address).toBe('127.0.1.20');
      expect(c.mesh.emulateLinkDelay).toBe(false);
    }
    expect(parseConfig({}).mesh.emulateLinkDelay).toBe(true);
  });

  it('keeps a central service that is not the catalog\'s as configured', () => {
    const other = parseConfig({ recording: { prefixes: ['+1555'], central: { region: 'us-east', address: '127.0.1.21', port: 9000 } } });
    for (const c of regionConfigs(catalog, other, plan)) expect(c.recording.central).toEqual({ region: 'us-east', address: '127.0.1.21', port: 9000 });
  });

  it('reachAddress passes through within a region and without a plan', () => {
    expect(reachAddress(plan, 'eu-west', 'us-east', '127.0.1.1')).toBe('127.0.2.100');
    expect(reachAddress(plan, 'us-east', 'us-east', '127.0.1.1')).toBe('127.0.1.1');
    expect(reachAddress(undefined, 'eu-west', 'us-east', '127.0.1.1')).toBe('127.0.1.1');
  });
});

describe('plan options and refusals', () => {
  it('relays only the even central RTP ports of the range', () => {
    const plan = planLinkRelays(catalog, { centralRtpPorts: { min: 8101, max: 8108 } });
    const rtp = plan.relays.filter((r) => r.kind === 'central-rtp' && r.from === 'ap-south' && r.to === 'eu-west');
    expect(rtp.map((r) => r.listen.port)).toEqual([8102, 8104, 8106, 8108]);
    for (const r of rtp) {
      expect(r.protocol).toBe('udp');
      expect(r.listen.address).toBe('127.0.3.101');
      expect(r.target).toEqual({ address: '127.0.2.20', port: r.listen.port });
      expect(r.delayMs).toBe(60);
    }
    expect(plan.relays.filter((r) => r.kind === 'central-rtp')).toHaveLength(6 * 4);
  });

  it('finds the relay entry for a service in another region (relayFor), and none for an unrelayed one', () => {
    const plan = planLinkRelays(catalog, { centralRtpPorts: { min: 8100, max: 8110 } });
    // The branch target a us-east central service answers with, as an eu-west edge must send to it.
    expect(relayFor(plan, 'eu-west', { address: '127.0.1.20', port: 8104 })).toEqual({ address: '127.0.2.100', port: 8104 });
    expect(relayFor(plan, 'ap-south', { address: '127.0.2.1', port: 5060 }, 'tcp')).toEqual({ address: '127.0.3.101', port: 5060 });
    expect(relayFor(plan, 'eu-west', { address: '127.0.1.20', port: 8105 })).toBeUndefined(); // odd: RTCP, not relayed
    expect(relayFor(plan, 'us-east', { address: '127.0.1.20', port: 8104 })).toBeUndefined(); // same region
    expect(relayFor(undefined, 'eu-west', { address: '127.0.1.20', port: 8104 })).toBeUndefined();
  });

  it('with the central services\' ports (as make start plans it): upload and branch RTP relays per pair, none clashing', () => {
    const plan = planLinkRelays(catalog, { centralRtpPorts: { min: 61000, max: 61255 }, centralHttpPort: 8091 });
    const kinds = (a: string, b: string): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const r of plan.relays.filter((x) => x.from === a && x.to === b)) out[`${r.kind}/${r.protocol}`] = (out[`${r.kind}/${r.protocol}`] ?? 0) + 1;
      return out;
    };
    for (const a of catalog.regionIds) {
      for (const b of catalog.regionIds.filter((x) => x !== a)) {
        expect(kinds(a, b)).toEqual({ 'sip/udp': 1, 'sip/tcp': 1, 'region-link/tcp': 1, 'central-upload/tcp': 1, 'central-rtp/udp': 128 });
      }
    }
    const upload = plan.relays.find((r) => r.kind === 'central-upload' && r.from === 'eu-west' && r.to === 'us-east')!;
    expect(upload).toMatchObject({ listen: { address: '127.0.2.100', port: 8091 }, target: { address: '127.0.1.20', port: 8091 }, source: { address: '127.0.1.101', port: 0 }, delayMs: 40 });
    expect(relayFor(plan, 'eu-west', { address: '127.0.1.20', port: 8091 }, 'tcp')).toEqual({ address: '127.0.2.100', port: 8091 });
    // The receive address us-east's service answers a branch set-up with, as each other region must send to it.
    expect(relayFor(plan, 'eu-west', { address: '127.0.1.20', port: 61254 })).toEqual({ address: '127.0.2.100', port: 61254 });
    expect(relayFor(plan, 'ap-south', { address: '127.0.1.20', port: 61000 })).toEqual({ address: '127.0.3.100', port: 61000 });
    expect(relayFor(plan, 'eu-west', { address: '127.0.1.20', port: 61256 })).toBeUndefined();
    // Every listen endpoint is bound once only.
    const keysOf = plan.relays.map((r) => `${r.protocol} ${r.listen.address}:${r.listen.port}`);
    expect(new Set(keysOf).size).toBe(keysOf.length);
  });

  it("relays an edge's DTMF reports to each home's listener, from the edge's signaling address only", () => {
    const plan = planLinkRelays(catalog, { dtmfPort: 5998 });
    const dtmf = plan.relays.filter((r) => r.kind === 'dtmf');
    expect(dtmf).toHaveLength(6);
    expect(dtmf.find((r) => r.from === 'us-east' && r.to === 'eu-west')).toMatchObject({
      protocol: 'udp',
      listen: { address: '127.0.1.101', port: 5998 },
      target: { address: '127.0.2.1', port: 5998 },
      near: { address: '127.0.1.1', port: 5998 },
      delayMs: 40,
    });
    expect(planLinkRelays(catalog).relays.some((r) => r.kind === 'dtmf')).toBe(false);
    expect(planError(raw(), { dtmfPort: 70000 })).toMatch(/DTMF port 70000 is invalid/);
  });

  it('refuses an upload port taken by the region link, or out of range', () => {
    const c = raw();
    expect(planError(c, { centralHttpPort: 8090 })).toMatch(/region-link .* and central-upload .* both need tcp 127\.0\.1\.101:8090/);
    expect(planError(c, { centralHttpPort: 0 })).toMatch(/central HTTP port 0 is invalid/);
    expect(planError(c, { centralHttpPort: 70000 })).toMatch(/central HTTP port 70000 is invalid/);
  });

  it('refuses a central RTP range that is inverted, out of range or too large', () => {
    expect(() => planLinkRelays(catalog, { centralRtpPorts: { min: 9000, max: 8000 } })).toThrow(/8000/);
    expect(() => planLinkRelays(catalog, { centralRtpPorts: { min: 80, max: 90 } })).toThrow(/invalid/);
    expect(() => planLinkRelays(catalog, { centralRtpPorts: { min: 10000, max: 20000 } })).toThrow(/at most 256/);
  });

  it('relays only the SIP transports asked for', () => {
    const plan = planLinkRelays(catalog, { sipProtocols: ['udp'] });
    expect(plan.relays.filter((r) => r.kind === 'sip').every((r) => r.protocol === 'udp')).toBe(true);
    expect(plan.relays).toHaveLength(6 * 2);
  });

  it('refuses an entry address the catalog already uses, naming its owner', () => {
    const c = raw();
    c.regions[0].mediaNodes[1].address = '127.0.1.101';
    expect(planError(c)).toMatch(/127\.0\.1\.101 for eu-west is already used by media node us-east-media-2/);
  });

  it('refuses a subnet with no room for the entry addresses', () => {
    const c = raw();
    c.regions[2].subnet = '127.0.3.0/26'; // 64 addresses: host 100 does not exist
    expect(planError(c)).toMatch(/ap-south: no room in 127\.0\.3\.0\/26/);
    // With a lower first host it fits.
    const plan = planLinkRelays(parseRegionCatalog(c), { firstHost: 40 });
    expect(plan.entries['ap-south']).toEqual({ 'us-east': '127.0.3.40', 'eu-west': '127.0.3.41' });
  });

  it('refuses two relays on one endpoint (a central service on the SIP port)', () => {
    const c = raw();
    c.regions[1].centralMedia.port = 5060;
    expect(planError(c)).toMatch(/sip .* and region-link .* both need tcp 127\.0\.1\.101:5060/);
  });

  it('follows the catalog\'s delays, including zero', () => {
    const c = raw();
    c.links['us-east']['eu-west'] = 0;
    c.links['eu-west']['us-east'] = 0;
    const plan = planLinkRelays(parseRegionCatalog(c));
    expect(plan.relays.filter((r) => [r.from, r.to].sort().join() === 'eu-west,us-east').every((r) => r.delayMs === 0)).toBe(true);
    expect(plan.relays.filter((r) => r.from === 'us-east' && r.to === 'ap-south').every((r) => r.delayMs === 110)).toBe(true);
  });
});
