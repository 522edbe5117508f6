import { describe, expect, it } from 'vitest';
import { planLinkRelays } from '../../../infra/link-delays.js';
import { summarizeRelayTraffic, type RelayCounters } from '../../../infra/link-relays.js';
import { loadRegionCatalog } from '../../../regions/catalog.js';

const plan = planLinkRelays(loadRegionCatalog(undefined, {}), { centralRtpPorts: { min: 61000, max: 61007 }, centralHttpPort: 8091 });

/** Zero counters for every relay of the plan, with `set` applied to the ones it names. */
function counters(set: (spec: RelayCounters['spec']) => Partial<Pick<RelayCounters, 'udp' | 'tcp'>> | undefined = () => undefined): RelayCounters[] {
  return plan.relays.map((spec) => {
    const over = set(spec);
    if (spec.protocol === 'udp') return { spec, udp: over?.udp ?? { toTarget: 0, toNear: 0, dropped: 0 } };
    return { spec, tcp: over?.tcp ?? { accepted: 0, refused: 0 } };
  });
}

describe('relay traffic summary', () => {
  it('has one line per ordered pair, kind and protocol, counting its relays', () => {
    const t = summarizeRelayTraffic(counters());
    expect(t).toHaveLength(6 * 5);
    const rtp = t.find((x) => x.from === 'eu-west' && x.to === 'us-east' && x.kind === 'central-rtp')!;
    expect(rtp).toEqual({ from: 'eu-west', to: 'us-east', kind: 'central-rtp', protocol: 'udp', relays: 4, datagrams: { toTarget: 0, toNear: 0, dropped: 0 }, activePorts: [] });
    const link = t.find((x) => x.from === 'eu-west' && x.to === 'us-east' && x.kind === 'region-link')!;
    expect(link).toEqual({ from: 'eu-west', to: 'us-east', kind: 'region-link', protocol: 'tcp', relays: 1, connections: { accepted: 0, refused: 0 }, activePorts: [] });
  });

  it('adds up the relays of a group and lists the ports that carried anything', () => {
    const t = summarizeRelayTraffic(
      counters((s) => {
        if (s.kind === 'central-rtp' && s.from === 'eu-west' && s.to === 'us-east' && s.listen.port === 61004) return { udp: { toTarget: 250, toNear: 0, dropped: 1 } };
        if (s.kind === 'central-rtp' && s.from === 'eu-west' && s.to === 'us-east' && s.listen.port === 61000) return { udp: { toTarget: 10, toNear: 2, dropped: 0 } };
        if (s.kind === 'central-upload' && s.from === 'eu-west') return { tcp: { accepted: 1, refused: 0 } };
        if (s.kind === 'sip' && s.protocol === 'tcp' && s.from === 'ap-south' && s.to === 'eu-west') return { tcp: { accepted: 0, refused: 3 } };
        return undefined;
      }),
    );
    const rtp = t.find((x) => x.from === 'eu-west' && x.to === 'us-east' && x.kind === 'central-rtp')!;
    expect(rtp.datagrams).toEqual({ toTarget: 260, toNear: 2, dropped: 1 });
    expect(rtp.activePorts).toEqual([61000, 61004]);
    // Each eu-west upload relay (to us-east and to ap-south) accepted one connection.
    expect(t.filter((x) => x.kind === 'central-upload' && x.connections!.accepted === 1).map((x) => `${x.from}→${x.to}`)).toEqual(['eu-west→us-east', 'eu-west→ap-south']);
    // Refused connections count as activity: someone tried.
    expect(t.find((x) => x.kind === 'sip' && x.protocol === 'tcp' && x.from === 'ap-south' && x.to === 'eu-west')).toMatchObject({ connections: { accepted: 0, refused: 3 }, activePorts: [5060] });
    expect(t.filter((x) => x.activePorts.length > 0)).toHaveLength(4);
  });
});
