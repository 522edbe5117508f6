/**
 * The files of the softphone page the control plane serves at `/client/`,
 * with their content types: the only names it answers (no file system path is
 * ever built from a request). infra/build-client.ts writes them.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SOFTPHONE_FILES: Readonly<Record<string, string>> = Object.freeze({
  'index.html': 'text/html; charset=utf-8',
  'softphone.js': 'text/javascript; charset=utf-8',
  'softphone.css': 'text/css; charset=utf-8',
  'softphone.licenses.txt': 'text/plain; charset=utf-8',
});

/** The repository root: the nearest folder up from this module with a package.json (from the sources or from dist/). */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('repository root (package.json) not found above control-plane/softphone');
}

/** Where `npm run build` writes the page and the control plane serves it from by default: `<repo>/dist/client`. */
export function softphoneBuildDir(): string {
  return join(repoRoot(), 'dist', 'client');
}
