/**
 * ConsulDiscovery runs the shared contract when CONSUL_HTTP_ADDR points at a
 * Consul agent. No Consul server is installable on this project's machines
 * (it is in no registry they reach), so `make test` normally has none: the
 * contract is then reported as skipped (never as passed) under a title that
 * says why, and the run prints the same line. The timeout case below needs no
 * agent and always runs.
 */
import { describe, expect, it } from 'vitest';
import { ConsulDiscovery, consulOptionsFromEnv } from '../../../../regions/discovery/consul-discovery.js';
import { discoveryContract } from './discovery-contract.js';

const consul = consulOptionsFromEnv(process.env);
const NOT_RUN = 'Consul: not run, CONSUL_HTTP_ADDR unset — no Consul server is installable here';

describe('Consul availability', () => {
  it('reads CONSUL_HTTP_ADDR, and says plainly when the Consul run is skipped', () => {
    const addr = process.env['CONSUL_HTTP_ADDR'];
    if (addr === undefined || addr.trim() === '') {
      console.log(`Discovery contract: ${NOT_RUN} (its contract cases are counted as skipped, not passed)`);
      expect(consul).toBeUndefined();
    } else {
      console.log(`Consul contract run against ${addr}`);
      expect(consul?.host).toBeTruthy();
      expect(consul?.port).toBeGreaterThan(0);
    }
  });
});

discoveryContract(
  'ConsulDiscovery',
  () =>
    new ConsulDiscovery({
      ...(consul ?? { host: '127.0.0.1', port: 8500 }),
      // A test agent is usually a single datacenter; regions then live in meta only.
      datacenterOf: () => process.env['CONSUL_DATACENTER'] ?? 'dc1',
    }),
  { ttlMs: 2000, expirySlackMs: 3000, ...(consul === undefined ? { notRunBecause: NOT_RUN } : {}) },
);

describe('ConsulDiscovery without a reachable agent', () => {
  it('bounds calls by requestTimeoutMs when the agent accepts but never answers, and fails fast when nothing listens', async () => {
    const { createServer } = await import('node:net');
    const { isMeshError } = await import('../../../../regions/core/errors.js');
    const sockets: import('node:net').Socket[] = [];
    const blackhole = createServer((s) => {
      sockets.push(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => blackhole.listen(8500, '127.0.9.41', r));
    const silent = new ConsulDiscovery({ host: '127.0.9.41', port: 8500, requestTimeoutMs: 300 });
    const absent = new ConsulDiscovery({ host: '127.0.9.42', port: 8500, requestTimeoutMs: 300 });
    try {
      let t0 = Date.now();
      await expect(silent.list({ service: 'media', region: 'us-east' })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'UPSTREAM_TIMEOUT'));
      expect(Date.now() - t0).toBeLessThan(1000);
      t0 = Date.now();
      await expect(
        silent.register({ id: 'x', service: 'media', region: 'us-east', address: '127.0.9.1', port: 1, capabilities: [], meta: {} }, { ttlMs: 3000 }),
      ).rejects.toSatisfy((e: unknown) => isMeshError(e, 'UPSTREAM_TIMEOUT'));
      expect(Date.now() - t0).toBeLessThan(1000);
      t0 = Date.now();
      await expect(absent.list({ service: 'media', region: 'us-east' })).rejects.toSatisfy((e: unknown) => isMeshError(e, 'SERVICE_UNAVAILABLE'));
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      await silent.close();
      await absent.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => blackhole.close(() => r()));
    }
  });
});
