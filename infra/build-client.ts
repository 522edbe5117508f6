/**
 * Build step of the softphone page (issue 13): bundles
 * `control-plane/client/main.ts` with JsSIP into one browser script with
 * esbuild and copies the page's HTML and CSS beside it, into `dist/client/`
 * (which the control plane serves at `/client/`). Everything comes from
 * node_modules at build time; the page downloads nothing else at run time.
 * `npm run build` runs it after tsc (`node dist/infra/build-client.js`).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { repoRoot, SOFTPHONE_FILES, softphoneBuildDir } from '../control-plane/softphone/files.js';

export const SOFTPHONE_SOURCE_DIR = (): string => join(repoRoot(), 'control-plane', 'client');

/**
 * The licence text of every npm package the bundle contains (JsSIP and its
 * dependencies: MIT licences ask that the notice travel with the code).
 */
function licenceNotices(inputs: string[]): string {
  const packages = new Set<string>();
  for (const input of inputs) {
    const m = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.replace(/\\/g, '/'));
    if (m !== null) packages.add(m[1]!);
  }
  const parts: string[] = [];
  for (const dir of [...packages].sort()) {
    const pkg = JSON.parse(readFileSync(join(repoRoot(), dir, 'package.json'), 'utf8')) as { name: string; version: string; license?: string };
    const file = readdirSync(join(repoRoot(), dir)).find((f) => /^licen[cs]e/i.test(f));
    const text = file === undefined ? `(no licence file; package.json says ${pkg.license ?? 'nothing'})` : readFileSync(join(repoRoot(), dir, file), 'utf8').trim();
    parts.push(`${pkg.name} ${pkg.version} (${pkg.license ?? 'unknown'})\n\n${text}`);
  }
  return parts.join('\n\n' + '-'.repeat(72) + '\n\n') + '\n';
}

/** Builds the page into `outDir` (default dist/client); returns each file with its size in bytes. */
export async function buildSoftphone(outDir: string = softphoneBuildDir()): Promise<Record<string, number>> {
  const src = SOFTPHONE_SOURCE_DIR();
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(src, 'main.ts')],
    outfile: join(outDir, 'softphone.js'),
    bundle: true,
    format: 'iife',
    platform: 'browser',
    // Browsers with WebRTC's unified plan, RTCDTMFSender and AbortSignal.timeout.
    target: ['chrome116', 'firefox115', 'safari16'],
    minify: true,
    legalComments: 'none',
    banner: { js: '/* Softphone page of edge-mesh. Bundled third-party packages and their licences: softphone.licenses.txt */' },
    metafile: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
    tsconfig: join(src, 'tsconfig.json'),
    // Input paths (the licence list) relative to the repository, whatever the caller's directory.
    absWorkingDir: repoRoot(),
  });
  writeFileSync(join(outDir, 'softphone.licenses.txt'), licenceNotices(Object.keys(result.metafile.inputs)));
  copyFileSync(join(src, 'index.html'), join(outDir, 'index.html'));
  copyFileSync(join(src, 'softphone.css'), join(outDir, 'softphone.css'));
  const sizes: Record<string, number> = {};
  for (const name of Object.keys(SOFTPHONE_FILES)) {
    if (existsSync(join(outDir, name))) sizes[name] = statSync(join(outDir, name)).size;
  }
  return sizes;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const out = process.argv[2] ?? softphoneBuildDir();
  buildSoftphone(out).then(
    (sizes) => console.log(`softphone page built into ${out}: ${Object.entries(sizes).map(([n, b]) => `${n} ${b} B`).join(', ')}`),
    (e: unknown) => {
      console.error(`softphone page build failed: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
