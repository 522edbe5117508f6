/**
 * The webhook destination policy of a signaling node, from `webhooks.*`: the
 * configured profile and blocks, plus — what only the configuration knows —
 * the platform's own addresses, which the production profile refuses so a
 * tenant cannot aim a webhook at the node's SIP, API, media or Redis ports.
 */
import { networkInterfaces } from 'node:os';
import { parseIp } from '../regions/net/cidr.js';
import { createDestinationPolicy, type DestinationPolicy } from '../regions/net/destination-policy.js';
import type { Config } from './config.js';

/** IP literals among the addresses this node and its mesh listen on (host names are skipped: they are not addresses). */
export function platformAddresses(config: Config, interfaces: () => ReturnType<typeof networkInterfaces> = networkInterfaces): string[] {
  const hostOf = (url: string | undefined): string | undefined => {
    if (url === undefined) return undefined;
    try {
      const h = new URL(url).hostname;
      return h.startsWith('[') ? h.slice(1, -1) : h;
    } catch {
      return undefined;
    }
  };
  const all = [
    config.sip.address,
    config.controlPlane.address,
    ...config.media.nodes.map((n) => n.address),
    ...(config.recording.central === undefined ? [] : [config.recording.central.address]),
    ...config.recording.centrals.map((c) => c.address),
    ...config.mesh.peers.map((p) => p.address),
    hostOf(config.redis.url),
    hostOf(config.discovery.redisUrl),
    hostOf(config.router.publicBaseUrl),
    // A service listening on 0.0.0.0 answers on every interface of the host.
    ...Object.values(interfaces()).flatMap((list) => (list ?? []).map((i) => i.address)),
  ];
  return [...new Set(all.filter((a): a is string => a !== undefined && parseIp(a) !== undefined))];
}

export function webhookPolicyFromConfig(config: Config): DestinationPolicy {
  return createDestinationPolicy({
    profile: config.webhooks.profile,
    allow: config.webhooks.allow,
    deny: config.webhooks.deny,
    ownAddresses: config.webhooks.profile === 'production' ? platformAddresses(config) : [],
  });
}
