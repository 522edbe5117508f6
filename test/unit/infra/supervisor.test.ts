import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RestartBackoff, Supervisor, type SupervisedChild, type SupervisorEvent } from '../../../infra/supervisor.js';

describe('RestartBackoff', () => {
  it('waits 0.5 s, doubles to 10 s, and starts over after 60 s up', () => {
    const b = new RestartBackoff({ initialMs: 500, maxMs: 10_000, resetAfterMs: 60_000 });
    expect([0, 0, 0, 0, 0, 0, 0].map((up) => b.next(up))).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(b.next(59_999)).toBe(10_000);
    expect(b.next(60_000)).toBe(500);
    expect(b.next(10)).toBe(1000);
  });

  it('refuses a policy that cannot work', () => {
    expect(() => new RestartBackoff({ initialMs: 0, maxMs: 10, resetAfterMs: 1 })).toThrow(/initialMs/);
    expect(() => new RestartBackoff({ initialMs: 20, maxMs: 10, resetAfterMs: 1 })).toThrow(RangeError);
  });
});

/** A child whose death the test decides. */
class FakeChild implements SupervisedChild {
  private die!: (code: number | null) => void;
  readonly exited = new Promise<number | null>((r) => (this.die = r));
  stopped = false;
  constructor(readonly pid: number) {}
  crash(code: number | null = null): void {
    this.die(code);
  }
  async stop(): Promise<void> {
    this.stopped = true;
    this.die(0);
    await this.exited;
  }
}

describe('Supervisor', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const setup = (failStarts = 0) => {
    let pid = 100;
    const children: Record<string, FakeChild[]> = { a: [], b: [] };
    const starts: { name: string; restart: number }[] = [];
    let failing = failStarts;
    const events: SupervisorEvent[] = [];
    const sup = new Supervisor<FakeChild>({ onEvent: (e) => events.push(e), now: () => Date.now() });
    const spec = (name: string) => ({
      name,
      start: async (restart: number) => {
        starts.push({ name, restart });
        if (restart > 0 && failing > 0) {
          failing--;
          throw new Error('not ready');
        }
        const c = new FakeChild(++pid);
        children[name]!.push(c);
        return c;
      },
    });
    return { sup, spec, children, starts, events };
  };

  it('restarts a dead child after the backoff while the other keeps running, and resets after a long run', async () => {
    const { sup, spec, children, starts, events } = setup();
    await sup.add(spec('a'));
    await sup.add(spec('b'));
    expect(sup.pids()).toEqual({ a: 101, b: 102 });

    children.a![0]!.crash(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(events[0]).toMatchObject({ type: 'exited', name: 'a', pid: 101, code: 1, restartInMs: 500 });
    expect(sup.current('a')).toBeUndefined();
    await vi.advanceTimersByTimeAsync(499);
    expect(starts.filter((s) => s.name === 'a')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts.at(-1)).toEqual({ name: 'a', restart: 1 });
    expect(sup.pids()).toEqual({ a: 103, b: 102 });
    expect(sup.restarts('a')).toBe(1);
    expect(children.b![0]!.stopped).toBe(false);

    // Dies again at once: twice the delay.
    children.a![1]!.crash();
    await vi.advanceTimersByTimeAsync(0);
    expect(events.at(-1)).toMatchObject({ type: 'exited', name: 'a', restartInMs: 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(sup.current('a')?.pid).toBe(104);

    // Up for a minute: the next death restarts after 0.5 s again.
    await vi.advanceTimersByTimeAsync(60_000);
    children.a![2]!.crash();
    await vi.advanceTimersByTimeAsync(0);
    expect(events.at(-1)).toMatchObject({ type: 'exited', name: 'a', restartInMs: 500 });
    await vi.advanceTimersByTimeAsync(500);
    expect(sup.restarts('a')).toBe(3);
    expect(sup.restarts('b')).toBe(0);
    expect(children.b).toHaveLength(1);
  });

  it('a restart that fails counts as a death: the delays keep doubling until one succeeds', async () => {
    const { sup, spec, events } = setup(2);
    await sup.add(spec('a'));
    (sup.current('a') as FakeChild).crash();
    await vi.advanceTimersByTimeAsync(500);
    expect(events.at(-1)).toMatchObject({ type: 'restart-failed', name: 'a', restartInMs: 1000 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(events.at(-1)).toMatchObject({ type: 'restart-failed', name: 'a', restartInMs: 2000 });
    await vi.advanceTimersByTimeAsync(2000);
    expect(events.at(-1)).toMatchObject({ type: 'restarted', name: 'a', restarts: 1 }); // restarts counts the ones that worked
    expect(sup.current('a')).toBeDefined();
  });

  it('halt cancels pending restarts and nothing dead comes back', async () => {
    const { sup, spec, children, starts } = setup();
    await sup.add(spec('a'));
    await sup.add(spec('b'));
    children.a![0]!.crash();
    await vi.advanceTimersByTimeAsync(100);
    sup.halt();
    await sup.stop('b');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(starts).toHaveLength(2);
    expect(children.b![0]!.stopped).toBe(true);
    expect(sup.pids()).toEqual({});
  });

  it('a child that was starting when halted is stopped as it arrives', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const made: FakeChild[] = [];
    const sup = new Supervisor<FakeChild>();
    await sup.add({
      name: 'slow',
      start: async (n) => {
        if (n > 0) await gate;
        const c = new FakeChild(200 + n);
        made.push(c);
        return c;
      },
    });
    made[0]!.crash();
    await vi.advanceTimersByTimeAsync(500); // the restart is under way, waiting on the gate
    sup.halt();
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(made).toHaveLength(2);
    expect(made[1]!.stopped).toBe(true);
    expect(sup.current('slow')).toBeUndefined();
  });

  it('refuses the same name twice', async () => {
    const { sup, spec } = setup();
    await sup.add(spec('a'));
    await expect(sup.add(spec('a'))).rejects.toThrow(/already supervised/);
  });
});

describe('Supervisor per-child backoff', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a child with its own policy waits its own delay (an rtpengine stays away until its death is confirmed)', async () => {
    const events: SupervisorEvent[] = [];
    const sup = new Supervisor<FakeChild>({ onEvent: (e) => events.push(e) });
    const made: FakeChild[] = [];
    await sup.add({ name: 'media', backoff: { initialMs: 4200 }, start: async () => (made.push(new FakeChild(300 + made.length)), made.at(-1)!) });
    made[0]!.crash();
    await vi.advanceTimersByTimeAsync(4199);
    expect(made).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(made).toHaveLength(2);
    expect(events[0]).toMatchObject({ type: 'exited', restartInMs: 4200 });
    await expect(sup.add({ name: 'bad', backoff: { initialMs: 20_000 }, start: async () => new FakeChild(1) })).rejects.toThrow(RangeError);
  });
});
