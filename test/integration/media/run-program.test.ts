/**
 * runProgram (the media cache's sox / espeak-ng runner) starts programs from
 * a worker thread; these check its contract with real programs: success,
 * stdin, a failing exit with its stderr, a program that does not exist, the
 * time limit, and that the runner keeps working after each of those.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../regions/core/errors.js';
import { runProgram } from '../../../media/cache/process.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isMeshError(e) ? `${e.code}: ${e.message}` : `not a MeshError: ${String(e)}`;
  }
}

describe('runProgram', () => {
  it('runs a program with stdin and waits for it to finish', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-program-'));
    const out = join(dir, 'out.txt');
    await runProgram('sh', ['-c', `cat > ${out}`], { timeoutMs: 5000, stdin: 'hello from stdin' });
    expect(readFileSync(out, 'utf8')).toBe('hello from stdin');
  });

  it('reports a failing exit with its stderr, a missing program, and the time limit, and keeps working', async () => {
    expect(await codeOf(runProgram('sh', ['-c', 'echo broken input >&2; exit 3'], { timeoutMs: 5000 }))).toBe('UNSUPPORTED_MEDIA_TYPE: sh exited with 3: broken input');
    expect(await codeOf(runProgram('/nonexistent/espeak-ng', [], { timeoutMs: 5000 }))).toMatch(/^INTERNAL: \/nonexistent\/espeak-ng could not start/);
    expect(await codeOf(runProgram('sleep', ['5'], { timeoutMs: 200 }))).toBe('REQUEST_TIMEOUT: sleep took longer than 200 ms');
    const many = await Promise.all(Array.from({ length: 8 }, () => codeOf(runProgram('sox', ['--version'], { timeoutMs: 5000 }))));
    expect(many).toEqual(Array(8).fill('ok'));
  });
});
