/**
 * The launcher's supervisor with real child processes (infra/supervisor.ts +
 * infra/process.ts): a SIGKILLed child is reported and started again after
 * the backoff, the other children keep running with the same pids, and once
 * halted nothing comes back. Children are small node processes that print a
 * readiness line, as a standby signaling node prints STANDBY.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnManaged, type ManagedProcess } from '../../../infra/process.js';
import { Supervisor, type SupervisorEvent } from '../../../infra/supervisor.js';
import { waitUntil } from '../../support/wait.js';

const CHILD = "process.stdout.write('UP ' + process.pid + '\\n'); setInterval(() => {}, 1000);";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('supervisor with real processes', () => {
  const events: SupervisorEvent[] = [];
  const sup = new Supervisor<ManagedProcess>({ backoff: { initialMs: 200, maxMs: 1000, resetAfterMs: 60_000 }, onEvent: (e) => events.push(e) });
  const starts: string[] = [];
  const spec = (name: string) => ({
    name,
    start: (n: number) => {
      starts.push(`${name}:${n}`);
      return spawnManaged({ name, command: process.execPath, args: ['-e', CHILD], readyOutput: 'UP ', readyTimeoutMs: 10_000 });
    },
  });
  afterAll(async () => {
    sup.halt();
    for (const name of sup.names()) await sup.stop(name, 2000);
  });

  it('restarts a SIGKILLed child after the backoff; the others keep running untouched', async () => {
    for (const name of ['a', 'b', 'c']) await sup.add(spec(name));
    const before = sup.pids();
    expect(Object.values(before).every(alive)).toBe(true);

    const killedAt = Date.now();
    process.kill(before.b!, 'SIGKILL');
    await waitUntil(() => sup.current('b') !== undefined && sup.current('b')!.pid !== before.b, 10_000, 'b restarted');
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeGreaterThanOrEqual(200); // waited the backoff
    expect(events[0]).toMatchObject({ type: 'exited', name: 'b', pid: before.b, code: null, restartInMs: 200 });
    expect(events[1]).toMatchObject({ type: 'restarted', name: 'b', restarts: 1 });
    expect(starts).toEqual(['a:0', 'b:0', 'c:0', 'b:1']);
    const after = sup.pids();
    expect(after.a).toBe(before.a);
    expect(after.c).toBe(before.c);
    expect(alive(after.a!) && alive(after.b!) && alive(after.c!)).toBe(true);
    expect(alive(before.b!)).toBe(false);

    // Killed again at once: the delay doubles.
    process.kill(after.b!, 'SIGKILL');
    await waitUntil(() => events.length >= 4, 10_000, 'b restarted twice');
    expect(events[2]).toMatchObject({ type: 'exited', name: 'b', restartInMs: 400 });
    expect(sup.restarts('b')).toBe(2);
    expect(sup.restarts('a') + sup.restarts('c')).toBe(0);
  });

  it('after halt a dead child stays dead and the rest stop on request', async () => {
    sup.halt();
    const pids = sup.pids();
    process.kill(pids.a!, 'SIGKILL');
    await waitUntil(() => !alive(pids.a!), 5000, 'a gone');
    await new Promise((r) => setTimeout(r, 600)); // longer than any backoff it could have used
    expect(sup.current('a')).toBeUndefined();
    expect(starts.filter((s) => s.startsWith('a:'))).toEqual(['a:0']);
    await sup.stop('b', 2000);
    await sup.stop('c', 2000);
    expect(alive(pids.b!) || alive(pids.c!)).toBe(false);
  });
});
