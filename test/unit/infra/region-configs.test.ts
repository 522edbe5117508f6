import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../infra/config.js';
import { planLinkRelays } from '../../../infra/link-delays.js';
import { recordingCentrals } from '../../../infra/recording-centrals.js';
import { regionConfigs } from '../../../infra/region-configs.js';
import { defaultRegionsFile, loadRegionCatalog, parseRegionCatalog } from '../../../regions/catalog.js';

const catalog = loadRegionCatalog(undefined, {});
const plan = planLinkRelays(catalog, { centralRtpPorts: { min: 61000, max: 61255 }, centralHttpPort: 8091 });
/** The embedded default's base configuration (what `make start` reads). */
const embedded = parseConfig(JSON.parse(readFileSync(join(defaultRegionsFile(), '..', 'us-east.json'), 'utf8')));
const byRegion = (cfgs: ReturnType<typeof regionConfigs>): Map<string, ReturnType<typeof regionConfigs>[number]> => new Map(cfgs.map((c) => [c.region, c]));

describe('region configurations: link delays', () => {
  it('give each region the catalog\'s one-way delays to every other region (placement of remote media)', () => {
    const cfgs = byRegion(regionConfigs(catalog, embedded, plan));
    expect(cfgs.get('us-east')!.mesh.linkDelaysMs).toEqual({ 'eu-west': 40, 'ap-south': 110 });
    expect(cfgs.get('eu-west')!.mesh.linkDelaysMs).toEqual({ 'us-east': 40, 'ap-south': 60 });
    expect(cfgs.get('ap-south')!.mesh.linkDelaysMs).toEqual({ 'us-east': 110, 'eu-west': 60 });
    // Every region knows every link: placement of media that is at another region (an edge) measures from there.
    expect(cfgs.get('us-east')!.mesh.linkMatrixMs['ap-south']).toEqual({ 'us-east': 110, 'eu-west': 60 });
  });

  it('follow a changed catalog, and stay filled without relays (the delays are the catalog\'s, not the path\'s)', () => {
    const raw = JSON.parse(readFileSync(defaultRegionsFile(), 'utf8'));
    raw.links['eu-west']['us-east'] = 7.5;
    raw.links['us-east']['eu-west'] = 7.5;
    const cfgs = byRegion(regionConfigs(parseRegionCatalog(raw), embedded));
    expect(cfgs.get('eu-west')!.mesh.linkDelaysMs).toEqual({ 'us-east': 7.5, 'ap-south': 60 });
    expect(cfgs.get('us-east')!.mesh.linkDelaysMs).toEqual({ 'eu-west': 7.5, 'ap-south': 110 });
  });
});

describe('region configurations: recording', () => {
  it('the embedded default records one prefix per tenant home region, each under that home\'s rule', () => {
    expect(embedded.recording.prefixes).toEqual(['+15559', '+44209', '+91809']);
    const home = catalog.homeRegionRules;
    expect(embedded.recording.prefixes.map((p) => home.homeRegionOf(`${p}000000`))).toEqual(['us-east', 'eu-west', 'ap-south']);
    // Every recorded prefix has a route, so a recorded call completes out of the box.
    for (const p of embedded.recording.prefixes) expect(embedded.routes.some((r) => p.startsWith(r.prefix))).toBe(true);
  });

  it('give every region each catalog central media service, through the relay entry from other regions and directly at home', () => {
    for (const c of regionConfigs(catalog, embedded, plan)) {
      const { centrals } = recordingCentrals(c);
      expect(centrals.map((x) => x.region).sort()).toEqual(['ap-south', 'eu-west', 'us-east']);
      for (const x of centrals) {
        const cm = catalog.region(x.region).centralMedia;
        expect(x.port).toBe(cm.port);
        expect(x.host).toBe(x.region === c.region ? cm.address : plan.entries[c.region]![x.region]);
      }
    }
    const eu = byRegion(regionConfigs(catalog, embedded, plan)).get('eu-west')!;
    expect(eu.recording.central).toEqual({ region: 'us-east', address: '127.0.2.100', port: 8090 });
    expect(eu.recording.centrals).toEqual([
      { region: 'eu-west', address: '127.0.2.20', port: 8090 },
      { region: 'ap-south', address: '127.0.2.102', port: 8090 },
    ]);
  });

  it('send each recorded number to its home region\'s central service (the edge being any region)', () => {
    for (const c of regionConfigs(catalog, embedded, plan)) {
      const { centralFor } = recordingCentrals(c);
      expect(centralFor('+15559123456')).toBe('us-east');
      expect(centralFor('+442091234567')).toBe('eu-west');
      expect(centralFor('+918091234567')).toBe('ap-south');
      // A number without a home rule is homed where it entered.
      expect(centralFor('+3312345678')).toBe(c.region);
    }
  });

  it('keep a configured central service for a region instead of adding the catalog\'s', () => {
    const base = parseConfig({ ...embedded, recording: { prefixes: ['+1555'], centrals: [{ region: 'ap-south', address: '127.0.3.77', port: 9100 }] } });
    const eu = byRegion(regionConfigs(catalog, base, plan)).get('eu-west')!;
    expect(eu.recording.central).toBeUndefined();
    expect(eu.recording.centrals).toEqual([
      { region: 'ap-south', address: '127.0.3.77', port: 9100 },
      { region: 'us-east', address: '127.0.2.100', port: 8090 },
      { region: 'eu-west', address: '127.0.2.20', port: 8090 },
    ]);
  });

  it('add no central service of a region whose catalog entry does not record centrally', () => {
    const raw = JSON.parse(readFileSync(defaultRegionsFile(), 'utf8'));
    raw.regions[2].centralMedia.services = ['transcode'];
    const cfgs = regionConfigs(parseRegionCatalog(raw), embedded);
    for (const c of cfgs) expect(recordingCentrals(c).centrals.map((x) => x.region).sort()).toEqual(['eu-west', 'us-east']);
    // ap-south's numbers then fall back to recording.central (us-east's).
    expect(recordingCentrals(cfgs[1]!).centralFor('+918091234567')).toBe('us-east');
  });
});

describe('recording configuration', () => {
  it('refuses prefixes without any central service, naming the key', () => {
    expect(() => parseConfig({ recording: { prefixes: ['+1555'] } })).toThrow(/recording\.central: required/);
    expect(() => parseConfig({ recording: { prefixes: ['+1555'], centrals: [{ region: 'us-east', address: '127.0.1.20', port: 8090 }] } })).not.toThrow();
  });

  it('refuses two central services for one region, naming the entry', () => {
    const central = { region: 'us-east', address: '127.0.1.20', port: 8090 };
    expect(() => parseConfig({ recording: { central, centrals: [{ ...central, port: 8091 }] } })).toThrow(/recording\.centrals\.0\.region: a second central media service for region us-east/);
    expect(() => parseConfig({ recording: { centrals: [{ region: 'eu-west', address: '127.0.2.20', port: 8090 }, central, { ...central, address: '127.0.1.21' }] } })).toThrow(
      /recording\.centrals\.2\.region/,
    );
  });

  it('without home rules or other centrals, records every number with recording.central (one-central configurations)', () => {
    const c = parseConfig({ region: 'eu-west', recording: { prefixes: ['+1555'], central: { region: 'us-east', address: '127.0.2.100', port: 8090 } } });
    const { centrals, centralFor } = recordingCentrals(c);
    expect(centrals).toEqual([{ region: 'us-east', host: '127.0.2.100', port: 8090 }]);
    expect(centralFor('+15551234567')).toBe('us-east');
  });
});
