/**
 * Process entry of one signaling node:
 *   node dist/infra/node-main.js --config infra/config/us-east.json
 * Exits non-zero with a message naming the bad key when the configuration is
 * invalid; SIGTERM / SIGINT close the node cleanly.
 */
import { isMeshError } from '../regions/core/errors.js';
import { configPathFromArgv, loadConfig } from './config.js';
import { createLogger } from './log.js';
import { startSignalingNode } from './signaling-node.js';

async function main(): Promise<void> {
  let config;
  try {
    const file = configPathFromArgv(process.argv);
    config = loadConfig(file === undefined ? {} : { file });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel, { proc: 'signaling' });
  process.on('uncaughtException', (e) => log.error('uncaught exception', { error: e }));
  process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: e as Error }));
  const node = await startSignalingNode(config, log);
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
