/**
 * The platform deck's configuration file: `infra/config/prices.json` by
 * default (found by walking up from this module, as the region catalog is),
 * else the file given (`pricesFile`) or $MESH_PRICES. Read and validated at
 * control-plane start; a bad file fails the start naming the field.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMeshError, MeshError } from '../core/errors.js';
import { parsePlatformDeck, type PlatformDeck } from './deck.js';

export const PRICES_FILE_ENV = 'MESH_PRICES';

export function defaultPricesFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'infra', 'config', 'prices.json');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new MeshError('CONFIG_INVALID', 'embedded price deck infra/config/prices.json not found');
}

export function loadPlatformDeck(file?: string, env: NodeJS.ProcessEnv = process.env): PlatformDeck {
  const path = file ?? (env[PRICES_FILE_ENV] || undefined) ?? defaultPricesFile();
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new MeshError('CONFIG_INVALID', `cannot read price deck ${path}: ${(e as Error).message}`);
  }
  try {
    return parsePlatformDeck(raw);
  } catch (e) {
    if (isMeshError(e, 'BAD_REQUEST')) throw new MeshError('CONFIG_INVALID', `invalid price deck ${path}: ${e.message}`);
    throw e;
  }
}
