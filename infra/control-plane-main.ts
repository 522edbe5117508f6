/**
 * Process entry of the control plane:
 *   OPERATOR_PASSWORD=… SECRETS_KEY=… node dist/infra/control-plane-main.js --config infra/config/us-east.json
 * The region catalog comes from the configuration's `regionsFile` (else $MESH_REGIONS, else
 * the embedded infra/config/regions.json); a catalog that does not hold `region` stops the start.
 * Exits non-zero with a message naming the bad key when the configuration is
 * invalid or no operator password or secrets key is set; SIGTERM / SIGINT close it cleanly.
 */
import { configOrExit } from './main-config.js';
import { startControlPlane } from './control-plane.js';
import { MeshError } from '../regions/core/errors.js';
import { createLogger } from '../regions/core/log.js';

async function main(): Promise<void> {
  const config = configOrExit();
  const password = config.controlPlane.operatorPassword;
  if (password === undefined) {
    process.stderr.write('invalid configuration:\n  controlPlane.operatorPassword: required (or set OPERATOR_PASSWORD)\n');
    process.exit(2);
  }
  if (config.secretsKey === undefined) {
    process.stderr.write('invalid configuration:\n  secretsKey: required (or set SECRETS_KEY): it seals API key secrets, which verify access tokens\n');
    process.exit(2);
  }
  const log = createLogger(config.logLevel, { proc: 'control-plane' });
  process.on('uncaughtException', (e) => log.error('uncaught exception', { error: e }));
  process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: e as Error }));
  const cp = await startControlPlane(config, { operatorPassword: password }, log);
  process.stdout.write(`READY ${cp.url}\n`);
  const stop = (): void => {
    const force = setTimeout(() => process.exit(1), 5000);
    force.unref();
    cp.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`control plane failed to start: ${(e as Error).message}\n`);
  // A bad region catalog is a configuration error, like a bad key: same exit status.
  process.exit(e instanceof MeshError && e.code === 'CONFIG_INVALID' ? 2 : 1);
});
