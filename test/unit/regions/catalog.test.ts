import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultRegionsFile, loadRegionCatalog, parseRegionCatalog, REGIONS_FILE_ENV } from '../../../regions/catalog.js';
import { isMeshError, type MeshError } from '../../../regions/core/errors.js';

const DEFAULT_FILE = defaultRegionsFile();
const raw = (): any => JSON.parse(readFileSync(DEFAULT_FILE, 'utf8'));

/** Parse and return the thrown error's message (fails the test when nothing is thrown). */
function errorOf(input: unknown): string {
  try {
    parseRegionCatalog(input);
  } catch (e) {
    expect(isMeshError(e, 'CONFIG_INVALID')).toBe(true);
    return (e as MeshError).message;
  }
  throw new Error('expected the catalog to be rejected');
}

const tmp = mkdtempSync(join(tmpdir(), 'catalog-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('embedded default catalog', () => {
  const catalog = loadRegionCatalog(undefined, {});

  it('has the three loopback regions with signaling on .1:5060 and central media on .20:8090', () => {
    expect(catalog.regionIds).toEqual(['us-east', 'eu-west', 'ap-south']);
    const octets = { 'us-east': 1, 'eu-west': 2, 'ap-south': 3 } as const;
    for (const [id, o] of Object.entries(octets)) {
      const r = catalog.region(id);
      expect(r.subnet).toBe(`127.0.${o}.0/24`);
      expect(r.signaling).toEqual({ address: `127.0.${o}.1`, port: 5060 });
      expect(r.centralMedia).toEqual({ address: `127.0.${o}.20`, port: 8090, services: ['record'] });
      expect(r.mediaNodes.map((n) => [n.address, n.ngPort])).toEqual([
        [`127.0.${o}.11`, 2223],
        [`127.0.${o}.12`, 2223],
      ]);
    }
  });

  it('keeps us-east consistent with infra/config/us-east.json', () => {
    const single = JSON.parse(readFileSync(join(DEFAULT_FILE, '..', 'us-east.json'), 'utf8'));
    const fromCatalog = catalog.mediaNodes('us-east').map(({ id, address, ngPort, rtpPortMin, rtpPortMax }) => ({
      id,
      address,
      ngPort,
      rtpPortMin,
      rtpPortMax,
    }));
    expect(fromCatalog).toEqual(single.media.nodes);
    expect(catalog.region('us-east').signaling).toEqual({ address: single.sip.address, port: single.sip.port });
  });

  it('gives every region RTP ranges disjoint from every other region', () => {
    const ranges = catalog.mediaNodes().map((n) => [n.rtpPortMin, n.rtpPortMax] as const);
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length; j++) {
        const [a, b] = [ranges[i]!, ranges[j]!];
        expect(a[0] <= b[1] && b[0] <= a[1], `${a} vs ${b}`).toBe(false);
      }
    }
  });

  it('has the default link delays, symmetric, 0 within a region', () => {
    expect(catalog.linkDelay('us-east', 'eu-west')).toBe(40);
    expect(catalog.linkDelay('eu-west', 'us-east')).toBe(40);
    expect(catalog.linkDelay('eu-west', 'ap-south')).toBe(60);
    expect(catalog.linkDelay('ap-south', 'us-east')).toBe(110);
    expect(catalog.linkDelay('ap-south', 'ap-south')).toBe(0);
    expect(catalog.linkDelays()['us-east']).toEqual({ 'eu-west': 40, 'ap-south': 110 });
  });

  it('throws NOT_FOUND for an unknown region', () => {
    expect(() => catalog.linkDelay('us-east', 'mars')).toThrowError(/unknown region mars/);
    expect(() => catalog.region('mars')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(catalog.hasRegion('mars')).toBe(false);
    expect(catalog.hasRegion('eu-west')).toBe(true);
  });

  it('maps addresses to regions by subnet', () => {
    expect(catalog.regionOf('127.0.1.1')).toBe('us-east');
    expect(catalog.regionOf('127.0.2.200')).toBe('eu-west');
    expect(catalog.regionOf('127.0.3.12')).toBe('ap-south');
    expect(catalog.regionOf('127.0.4.1')).toBeUndefined();
    expect(catalog.regionOf('127.0.0.1')).toBeUndefined();
    expect(catalog.regionOf('::1')).toBeUndefined();
    expect(catalog.regionOf('not an address')).toBeUndefined();
  });

  it('finds media nodes by id and lists central services', () => {
    expect(catalog.mediaNode('eu-west-media-2')).toMatchObject({ region: 'eu-west', address: '127.0.2.12', rtpPortMin: 45000 });
    expect(catalog.mediaNode('nope')).toBeUndefined();
    expect(catalog.mediaNodes()).toHaveLength(6);
    expect(catalog.centralServicesOf('us-east')).toEqual(['record']);
  });

  it('has home-region rules for the sample numbers', () => {
    expect(catalog.homeRegionRules.homeRegionOf('+15551234567')).toBe('us-east');
    expect(catalog.homeRegionRules.homeRegionOf('+442071234567')).toBe('eu-west');
    expect(catalog.homeRegionRules.homeRegionOf('+918012345678')).toBe('ap-south');
  });

  it('is read-only', () => {
    expect(Object.isFrozen(catalog.regions)).toBe(true);
    expect(Object.isFrozen(catalog.region('us-east').mediaNodes[0])).toBe(true);
  });
});

describe('loadRegionCatalog', () => {
  it('reads the file named by the argument, then by $MESH_REGIONS', () => {
    const one = raw();
    one.regions = one.regions.slice(0, 1);
    one.links = {};
    one.homeRegionRules.numbers = { '+1': one.homeRegionRules.numbers['+1555'] };
    const file = join(tmp, 'one.json');
    writeFileSync(file, JSON.stringify(one));
    expect(loadRegionCatalog(file).regionIds).toEqual(['us-east']);
    expect(loadRegionCatalog(undefined, { [REGIONS_FILE_ENV]: file }).regionIds).toEqual(['us-east']);
  });

  it('names the file when it is missing or not JSON', () => {
    expect(() => loadRegionCatalog(join(tmp, 'absent.json'))).toThrowError(/cannot read region catalog .*absent\.json/);
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{ nope');
    expect(() => loadRegionCatalog(bad)).toThrowError(/bad\.json is not valid JSON/);
  });

  it('names the file and the bad key when validation fails', () => {
    const c = raw();
    c.regions[0].signaling.port = 0;
    const file = join(tmp, 'port.json');
    writeFileSync(file, JSON.stringify(c));
    expect(() => loadRegionCatalog(file)).toThrowError(/port\.json:\n {2}regions\.0\.signaling\.port: /);
  });
});

describe('catalog validation names the bad key', () => {
  it('applies defaults for ports and capabilities', () => {
    const c = raw();
    delete c.regions[0].signaling.port;
    delete c.regions[0].mediaNodes[0].ngPort;
    delete c.regions[0].mediaNodes[0].capabilities;
    delete c.regions[0].centralMedia.port;
    delete c.regions[0].centralMedia.services;
    const r = parseRegionCatalog(c).region('us-east');
    expect(r.signaling.port).toBe(5060);
    expect(r.mediaNodes[0]).toMatchObject({ ngPort: 2223, capabilities: ['relay', 'play', 'record'] });
    expect(r.centralMedia).toMatchObject({ port: 8090, services: ['record'] });
  });

  it('rejects unknown keys and bad field values', () => {
    const c = raw();
    c.regions[1].extra = true;
    c.regions[2].mediaNodes[0].capabilities = ['relay', 'teleport'];
    c.regions[0].id = 'US East';
    const msg = errorOf(c);
    expect(msg).toMatch(/regions\.1: Unrecognized key\(s\) in object: 'extra'/);
    expect(msg).toMatch(/regions\.2\.mediaNodes\.0\.capabilities\.1: /);
    expect(msg).toMatch(/regions\.0\.id: lower-case letters/);
  });

  it('rejects a subnet with host bits or a malformed one', () => {
    const c = raw();
    c.regions[0].subnet = '127.0.1.5/24';
    expect(errorOf(c)).toMatch(/regions\.0\.subnet: must be an IPv4 CIDR block/);
    c.regions[0].subnet = '127.0.1.0/33';
    expect(errorOf(c)).toMatch(/regions\.0\.subnet: /);
  });

  it('rejects an address outside the region subnet', () => {
    const c = raw();
    c.regions[1].signaling.address = '127.0.1.1';
    c.regions[1].mediaNodes[1].address = '127.0.9.12';
    c.regions[2].centralMedia.address = '10.0.0.20';
    const msg = errorOf(c);
    expect(msg).toMatch(/regions\.1\.signaling\.address: 127\.0\.1\.1 is outside the region's subnet 127\.0\.2\.0\/24/);
    expect(msg).toMatch(/regions\.1\.mediaNodes\.1\.address: 127\.0\.9\.12 is outside/);
    expect(msg).toMatch(/regions\.2\.centralMedia\.address: 10\.0\.0\.20 is outside/);
  });

  it('rejects overlapping subnets', () => {
    const c = raw();
    c.regions[1].subnet = '127.0.0.0/16';
    expect(errorOf(c)).toMatch(/regions\.1\.subnet: subnet 127\.0\.0\.0\/16 overlaps regions\.0\.subnet 127\.0\.1\.0\/24/);
  });

  it('rejects duplicate region ids and duplicate media node ids', () => {
    const c = raw();
    c.regions[2].id = 'eu-west';
    c.regions[2].mediaNodes[0].id = 'us-east-media-1';
    const msg = errorOf(c);
    expect(msg).toMatch(/regions\.2\.id: duplicate region id eu-west/);
    expect(msg).toMatch(/regions\.2\.mediaNodes\.0\.id: duplicate media node id us-east-media-1 \(also regions\.0\.mediaNodes\.0\)/);
  });

  it('rejects overlapping RTP ranges on one address, but allows them on different addresses', () => {
    const c = raw();
    c.regions[0].mediaNodes[1].rtpPortMin = 30000; // .12 overlaps .11's range: different address, fine
    expect(() => parseRegionCatalog(c)).not.toThrow();
    c.regions[0].mediaNodes[1].address = '127.0.1.11';
    c.regions[0].mediaNodes[1].ngPort = 2224;
    expect(errorOf(c)).toMatch(
      /regions\.0\.mediaNodes\.1\.rtpPortMin: RTP range 30000-39999 on 127\.0\.1\.11 overlaps regions\.0\.mediaNodes\.0 \(30000-34999\)/,
    );
  });

  it('rejects an inverted RTP range and a shared ng endpoint', () => {
    const c = raw();
    c.regions[0].mediaNodes[0].rtpPortMin = 35000;
    c.regions[0].mediaNodes[0].rtpPortMax = 34999;
    expect(errorOf(c)).toMatch(/regions\.0\.mediaNodes\.0\.rtpPortMin: rtpPortMin must be below rtpPortMax/);
    const d = raw();
    d.regions[0].mediaNodes[1].address = '127.0.1.11';
    d.regions[0].mediaNodes[1].rtpPortMin = 36000;
    expect(errorOf(d)).toMatch(/regions\.0\.mediaNodes\.1\.ngPort: ng endpoint 127\.0\.1\.11:2223 is also used by regions\.0\.mediaNodes\.0/);
  });

  it('rejects asymmetric links', () => {
    const c = raw();
    c.links['eu-west']['us-east'] = 45;
    expect(errorOf(c)).toMatch(/links\.eu-west\.us-east: delay 45 ms differs from links\.us-east\.eu-west \(40 ms\); links must be symmetric/);
    delete c.links['eu-west']['us-east'];
    expect(errorOf(c)).toMatch(/links\.eu-west\.us-east: missing; links must be symmetric \(links\.us-east\.eu-west is 40 ms\)/);
  });

  it('rejects an unlinked pair, once', () => {
    const c = raw();
    delete c.links['eu-west']['ap-south'];
    delete c.links['ap-south']['eu-west'];
    const msg = errorOf(c);
    expect(msg).toMatch(/links\.ap-south\.eu-west: regions ap-south and eu-west are not linked/);
    expect(msg.match(/not linked/g)).toHaveLength(1);
  });

  it('rejects links to unknown regions, self-links and bad delays', () => {
    const c = raw();
    c.links.mars = { 'us-east': 1 };
    c.links['us-east'].venus = 5;
    c.links['us-east']['us-east'] = 0;
    c.links['ap-south']['us-east'] = -1;
    const msg = errorOf(c);
    expect(msg).toMatch(/links\.ap-south\.us-east: Number must be greater than or equal to 0/);
    const d = raw();
    d.links.mars = { 'us-east': 1 };
    d.links['us-east'].venus = 5;
    d.links['us-east']['us-east'] = 0;
    const msg2 = errorOf(d);
    expect(msg2).toMatch(/links\.mars: unknown region mars/);
    expect(msg2).toMatch(/links\.us-east\.venus: unknown region venus/);
    expect(msg2).toMatch(/links\.us-east\.us-east: a region has no link to itself/);
  });

  it('rejects home-region rules with an unknown region, a bad tenant or a bad prefix', () => {
    const c = raw();
    c.homeRegionRules.numbers['+1555'].homeRegion = 'mars';
    expect(errorOf(c)).toMatch(/homeRegionRules\.numbers\.\+1555\.homeRegion: unknown region mars/);
    const d = raw();
    d.homeRegionRules.numbers['+1555'].tenant = 'AC123';
    d.homeRegionRules.numbers['12a'] = { tenant: `AC${'0'.repeat(32)}`, homeRegion: 'us-east' };
    const msg = errorOf(d);
    expect(msg).toMatch(/homeRegionRules\.numbers\.\+1555\.tenant: must be AC followed by 32/);
    expect(msg).toMatch(/homeRegionRules\.numbers\.12a: digits with optional leading \+/);
  });

  it('puts every issue in the error detail', () => {
    const c = raw();
    c.regions[0].signaling.port = 70000;
    try {
      parseRegionCatalog(c);
      expect.unreachable();
    } catch (e) {
      expect((e as MeshError).detail).toEqual({ issues: [{ path: 'regions.0.signaling.port', message: expect.any(String) }] });
    }
  });
});

describe('region and node ids named like Object.prototype members', () => {
  it('are refused with a message naming the rule', async () => {
    const { regionIdSchema } = await import('../../../regions/catalog/schema.js');
    expect(regionIdSchema.safeParse('us-east').success).toBe(true);
    const r = regionIdSchema.safeParse('constructor');
    expect(r.success).toBe(false);
    expect(r.success ? '' : r.error.issues[0]?.message).toMatch(/reserved name/);
  });
});
