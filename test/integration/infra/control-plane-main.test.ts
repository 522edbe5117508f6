/**
 * The control-plane process refuses to start without a platform secrets key
 * (API key secrets could not be sealed, so no key could verify access tokens),
 * and with one that is not 32 bytes; the message names the key, never a value.
 * Both exits happen before anything connects.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..');

function run(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const base = { ...process.env };
  delete base.SECRETS_KEY;
  delete base.MESH_CONFIG;
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'infra', 'control-plane-main.ts')], {
    cwd: ROOT,
    env: { ...base, OPERATOR_PASSWORD: 'operator-password-for-test', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
}

describe('control-plane process: secrets key', () => {
  it('exits 2 naming secretsKey when there is none', async () => {
    const r = await run({});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('secretsKey: required (or set SECRETS_KEY)');
  });

  it('exits 2 naming secretsKey, not its value, when it is not 32 bytes', async () => {
    const r = await run({ SECRETS_KEY: 'sixteen-byte-key' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('secretsKey: must be 32 bytes');
    expect(r.stderr).not.toContain('sixteen-byte-key');
  });
});
