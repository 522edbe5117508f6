/**
 * Service discovery: the `Discovery` interface, its Redis, etcd and Consul
 * adapters, and the registrar and view built on any of them. Which adapter a
 * running process uses is configuration's choice (infra/discovery.ts).
 */
import { ConsulDiscovery, consulOptionsFromEnv, type ConsulDiscoveryOptions } from './consul-discovery.js';
import { RedisDiscovery, type RedisDiscoveryOptions } from './redis-discovery.js';
import type { Discovery } from './types.js';

export * from './types.js';
export { RedisDiscovery, type RedisDiscoveryOptions } from './redis-discovery.js';
export { EtcdDiscovery, type EtcdDiscoveryOptions } from './etcd-discovery.js';
export { ConsulDiscovery, consulOptionsFromEnv, type ConsulAgentAddress, type ConsulDiscoveryOptions } from './consul-discovery.js';
export { SnapshotDiff, matchesQuery, validateInstance } from './snapshot.js';
export { DiscoveryRegistrar, instanceFingerprint, type DiscoveryRegistrarOptions } from './registrar.js';
export { DiscoveryView, type DiscoveryViewListener } from './view.js';

/**
 * An adapter from the environment alone, for tools without a configuration
 * file: Consul when CONSUL_HTTP_ADDR is set, else Redis. Running processes
 * choose through their configuration instead (infra/discovery.ts).
 */
export function createDiscovery(opts: {
  redis: RedisDiscoveryOptions;
  consul?: Partial<ConsulDiscoveryOptions>;
  env?: NodeJS.ProcessEnv;
}): Discovery {
  const fromEnv = consulOptionsFromEnv(opts.env ?? process.env);
  if (fromEnv !== undefined) return new ConsulDiscovery({ ...fromEnv, ...opts.consul });
  return new RedisDiscovery(opts.redis);
}
