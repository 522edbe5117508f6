/** Service discovery: the `Discovery` interface and its Redis and Consul adapters. */
import { ConsulDiscovery, consulOptionsFromEnv, type ConsulDiscoveryOptions } from './consul-discovery.js';
import { RedisDiscovery, type RedisDiscoveryOptions } from './redis-discovery.js';
import type { Discovery } from './types.js';

export * from './types.js';
export { RedisDiscovery, type RedisDiscoveryOptions } from './redis-discovery.js';
export { ConsulDiscovery, consulOptionsFromEnv, type ConsulAgentAddress, type ConsulDiscoveryOptions } from './consul-discovery.js';
export { SnapshotDiff, matchesQuery, validateInstance } from './snapshot.js';
export { DiscoveryRegistrar, instanceFingerprint, type DiscoveryRegistrarOptions } from './registrar.js';
export { DiscoveryView, type DiscoveryViewListener } from './view.js';

/**
 * The adapter configuration asks for: Consul when CONSUL_HTTP_ADDR is set
 * (DESIGN.md, "The embedded default"), else Redis.
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
