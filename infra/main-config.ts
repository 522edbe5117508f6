/**
 * The start of every process entry: the configuration from `--config FILE`
 * (or MESH_CONFIG), validated; on a bad key the process exits 2 with the
 * message naming it, before anything is started.
 */
import { configPathFromArgv, loadConfig, type Config } from './config.js';

export function configOrExit(argv: readonly string[] = process.argv): Config {
  try {
    const file = configPathFromArgv(argv);
    return loadConfig(file === undefined ? {} : { file });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
}
