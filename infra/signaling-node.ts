/**
 * One signaling node, built in-process from a validated configuration:
 * Redis connection, the region's media node registry, the SIP stack and the
 * B2BUA. `node-main.ts` runs it as a process; integration tests start it
 * directly so they can inspect its counters.
 */
import { Redis } from 'ioredis';
import { MediaNodeRegistry } from '../media/registry.js';
import { B2bua } from '../signaling/b2bua/b2bua.js';
import { CommandConsumer } from '../signaling/calls/command-consumer.js';
import { Originator } from '../signaling/calls/originator.js';
import { CallStore } from '../signaling/b2bua/call-store.js';
import { RouteTable } from '../signaling/b2bua/routes.js';
import { SipStack } from '../signaling/sip/stack.js';
import type { Config } from './config.js';
import { createLogger, type Logger } from './log.js';
import { RegistryMediaPort } from './media-port.js';
import { startMetricsPublisher } from './metrics-publisher.js';
import { nodeMetricsSnapshot } from './node-metrics.js';
import { loadCarriers } from '../regions/store/carriers.js';
import { keys } from '../regions/store/schema.js';

export interface SignalingNode {
  readonly config: Config;
  readonly nodeId: string;
  readonly stack: SipStack;
  readonly b2bua: B2bua;
  readonly media: MediaNodeRegistry;
  readonly redis: Redis;
  readonly store: CallStore;
  readonly originator: Originator;
  readonly commands: CommandConsumer;
  /** Reload the region's carriers and drained media nodes from Redis now (also done every 3 s). */
  reloadCarriers(): Promise<void>;
  /** Stop taking calls, hang up live ones, close sockets and connections. Idempotent. */
  close(): Promise<void>;
}

export async function startSignalingNode(config: Config, log: Logger = createLogger(config.logLevel)): Promise<SignalingNode> {
  const nodeId = config.nodeId ?? `${config.region}-sig-1`;
  const nlog = log.child({ node: nodeId, region: config.region });

  const redis = new Redis(config.redis.url, {
    commandTimeout: config.redis.commandTimeoutMs,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    enableAutoPipelining: true,
    // Keep retrying in the background; writes meanwhile fail fast (CallStore times them out).
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: true,
  });
  redis.on('error', (e) => nlog.debug('redis error', { error: e }));
  try {
    await redis.connect();
  } catch (e) {
    // A node without Redis still carries calls; state becomes visible when Redis returns.
    nlog.warn('redis not reachable at start; continuing without live state until it is', { url: config.redis.url, error: e as Error });
  }
  const store = new CallStore(redis, nlog, { keyPrefix: config.redis.keyPrefix, nodeId, timeoutMs: config.redis.commandTimeoutMs });

  const media = new MediaNodeRegistry({
    region: config.region,
    nodes: config.media.nodes.map((n) => ({ id: n.id, address: n.address, ngPort: n.ngPort, capabilities: n.capabilities })),
    healthIntervalMs: config.media.healthIntervalMs,
    ngTimeoutMs: config.media.ngTimeoutMs,
  });
  media.on('health', (ev) => nlog.info('media node health', { ...ev }));
  await media.start();

  let stack: SipStack;
  try {
    stack = await SipStack.start({
      address: config.sip.address,
      port: config.sip.port,
      transports: config.sip.transports,
      timers: { t1: config.sip.t1, t2: config.sip.t2, t4: config.sip.t4, trying: config.sip.tryingDelayMs },
      limits: { maxMessageBytes: config.sip.maxMessageBytes, maxHeaders: config.sip.maxHeaders, maxLineBytes: config.sip.maxLineBytes },
      maxTransactions: config.sip.maxTransactions,
    });
  } catch (e) {
    await media.close();
    redis.disconnect();
    throw e;
  }

  const b2buaMediaPort = new RegistryMediaPort(media);
  const routeTable = new RouteTable(config.routes);
  const b2bua = new B2bua(stack, b2buaMediaPort, routeTable, store, nlog, {
    region: config.region,
    nodeId,
    maxCalls: config.sip.maxCalls,
    retryAfterSeconds: config.sip.retryAfterSeconds,
    noAnswerTimeoutMs: config.noAnswerTimeoutSeconds * 1000,
  });

  const originator = new Originator(stack, b2bua, b2buaMediaPort, routeTable, redis, nlog, {
    region: config.region,
    nodeId,
    keyPrefix: config.redis.keyPrefix,
  });
  // XREADGROUP blocks, so commands get their own connection.
  const commandRedis = redis.duplicate({ lazyConnect: false, commandTimeout: 3000 /* > the 1 s XREADGROUP block */ });
  commandRedis.on('error', (e) => nlog.debug('redis (commands) error', { error: e }));
  const commands = new CommandConsumer(
    commandRedis,
    async (cmd) => {
      if (cmd.type === 'originate') await originator.originate(cmd.callSid);
      else if (cmd.type === 'hangup') await originator.hangup(cmd.callSid);
      else await originator.redirect(cmd.callSid, cmd.url, cmd.method);
    },
    nlog,
    { region: config.region, nodeId, keyPrefix: config.redis.keyPrefix },
  );
  commands.start();

  // Carriers of the region and drained media nodes (operator API) are reloaded every few
  // seconds; a Redis failure keeps the last good set rather than opening or closing the door.
  const refreshCarriers = async (): Promise<void> => {
    try {
      b2bua.setCarriers(await loadCarriers(redis, config.redis.keyPrefix, config.region));
      media.setDrained(await redis.smembers(keys(config.redis.keyPrefix).drainedNodes()));
    } catch (e) {
      nlog.debug('carrier reload failed; keeping the previous set', { error: e as Error });
    }
  };
  await refreshCarriers();
  const carrierTimer = setInterval(() => void refreshCarriers(), 3000);
  carrierTimer.unref();

  let metrics: { close(): Promise<void> } | undefined;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      clearInterval(carrierTimer);
      await metrics?.close();
      await commands.close();
      await originator.close();
      await b2bua.close();
      // Give the BYEs of the hang-ups a moment to leave before the sockets close.
      if (b2bua.activeCalls > 0 || stack.counters.sent > 0) await new Promise((r) => setTimeout(r, 200));
      await stack.close();
      await media.close();
      redis.disconnect();
    })());

  nlog.info('signaling node up', {
    sip: `${config.sip.address}:${config.sip.port}`,
    transports: config.sip.transports,
    mediaNodes: config.media.nodes.map((n) => n.id),
  });
  const node: SignalingNode = { config, nodeId, stack, b2bua, media, redis, store, originator, commands, close, reloadCarriers: refreshCarriers };
  metrics = startMetricsPublisher({
    redis,
    keyPrefix: config.redis.keyPrefix,
    snapshot: () => nodeMetricsSnapshot(node),
    log: nlog,
  });
  return node;
}
