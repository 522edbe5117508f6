/**
 * Process entry of one signaling node:
 *   node dist/infra/node-main.js --config infra/config/us-east.json [--standby] [--lease-ttl-ms 3000]
 * Exits non-zero with a message naming the bad key when the configuration is
 * invalid; SIGTERM / SIGINT close the node cleanly.
 *
 * With --standby the process waits (printing `STANDBY`) until the node's lease
 * in Redis expires, then takes over the SIP address and the live calls
 * (printing `TAKEOVER <json>` then `READY`). A process that finds its lease
 * taken by another exits at once with code 3, without hanging up: the calls
 * belong to the new holder.
 */
import { setFlagsFromString } from 'node:v8';
import { isMeshError } from '../regions/core/errors.js';
import { configOrExit } from './main-config.js';
import { createLogger } from '../regions/core/log.js';
import { startSignalingNode } from './signaling-node.js';

async function main(): Promise<void> {
  const config = configOrExit();
  // Before the node allocates its state: see config.heapGrowingPercent.
  if (config.heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${config.heapGrowingPercent}`);
  const log = createLogger(config.logLevel, { proc: 'signaling' });
  process.on('uncaughtException', (e) => log.error('uncaught exception', { error: e }));
  process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: e as Error }));
  const standby = process.argv.includes('--standby');
  const ttlArg = flagValue(process.argv, '--lease-ttl-ms');
  const leaseTtlMs = ttlArg === undefined ? undefined : Number(ttlArg);
  if (leaseTtlMs !== undefined && (!Number.isInteger(leaseTtlMs) || leaseTtlMs < 300)) {
    process.stderr.write(`--lease-ttl-ms: must be an integer ≥ 300, got ${ttlArg}\n`);
    process.exit(2);
  }
  const node = await startSignalingNode(config, log, {
    standby,
    ...(leaseTtlMs !== undefined ? { leaseTtlMs } : {}),
    onStandby: () => process.stdout.write(`STANDBY ${config.sip.address}:${config.sip.port}\n`),
    onLeaseLost: () => {
      log.error('node lease taken by another process; exiting without hanging up');
      process.exit(3);
    },
  });
  if (node.takeover !== undefined) process.stdout.write(`TAKEOVER ${JSON.stringify(node.takeover)}\n`);
  // Readiness marker for launchers.
  process.stdout.write(`READY ${config.sip.address}:${config.sip.port}\n`);
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal: sig });
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    node.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error('close failed', { error: e as Error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`signaling node failed to start: ${isMeshError(e) ? e.message : String(e)}\n`);
  process.exit(1);
});

/** `--name value` or `--name=value` from argv. */
function flagValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  return argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}
