/**
 * Transaction timer values (RFC 3261 §17.1.1.1, Table 4) and a tiny holder of
 * named timeouts so each transaction can clear every timer in one call.
 */
export interface TimerOptions {
  /** RTT estimate. Default 500 ms (RFC 3261 §17.1.1.1). */
  t1?: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses. Default 4000 ms. */
  t2?: number;
  /** Maximum time a message stays in the network. Default 5000 ms. */
  t4?: number;
  /** Timer D: wait time for response retransmissions (unreliable). Default max(32000, 64*T1) ms. */
  timerD?: number;
  /**
   * Safety cap for an INVITE client transaction stuck in Proceeding (a
   * provisional arrived but never a final). RFC 3261 leaves this to the TU
   * (Timer C is a proxy timer, §16.6); we bound it so no transaction lives
   * forever. Default 180000 ms; on expiry the TU gets onTimeout.
   */
  timerC?: number;
  /**
   * How long an INVITE server transaction waits for the TU's first response before
   * sending 100 Trying itself (RFC 3261 §17.2.1 allows up to 200 ms). Default 0: at once.
   */
  trying?: number;
  /**
   * How long the per-call transactions linger once done, over UDP: an INVITE server
   * transaction after the ACK to its 2xx (Timer L), an INVITE client transaction after
   * its 2xx (Timer M), a BYE server transaction after its final response (Timer J).
   * RFC 3261/6026 say 64*T1 (32 s). Shorter is safe for these three because the
   * dialog level answers what could still come for the full 64*T1: a 2xx retransmitted
   * gets its ACK again from the stack's sent ACKs, a BYE retransmitted matches the
   * ended call's leg and gets 200 again. Kamailio keeps a finished transaction 5 s
   * (tm `wt_timer`). Other methods, and the wait for an ACK, keep 64*T1.
   * Default 64*T1; clamped to [T4, 64*T1].
   */
  linger?: number;
}

export interface TimerValues {
  t1: number;
  t2: number;
  t4: number;
  /** 64*T1: Timers B, F, H, J (unreliable), L, M and the 2xx retransmit give-up (§13.3.1.4). */
  t64: number;
  timerD: number;
  timerC: number;
  trying: number;
  /** See TimerOptions.linger. */
  linger: number;
}

export function resolveTimers(o: TimerOptions = {}): TimerValues {
  const t1 = o.t1 ?? 500;
  const t2 = o.t2 ?? 4000;
  const t4 = o.t4 ?? 5000;
  return {
    t1,
    t2,
    t4,
    t64: 64 * t1,
    timerD: o.timerD ?? Math.max(32000, 64 * t1),
    timerC: o.timerC ?? 180000,
    trying: Math.min(Math.max(o.trying ?? 0, 0), 200),
    linger: Math.min(Math.max(o.linger ?? 64 * t1, t4), 64 * t1),
  };
}

/**
 * Named one-shot timers; `clearAll()` on termination guarantees nothing fires afterwards.
 * The handles sit in one small object, a property per timer name: a transaction uses a
 * few fixed names, so V8 keeps them in-object (about 50 bytes), where a Map cost about
 * 240 bytes and two arrays about 330 per transaction, and 40,000 transactions linger at
 * 800 calls/s.
 */
export class TimerSlots<K extends string> {
  private readonly slots: Partial<Record<K, NodeJS.Timeout>> = {};

  set(name: K, ms: number, fn: () => void): void {
    this.clear(name);
    const t = setTimeout(() => {
      if (this.slots[name] === t) this.slots[name] = undefined;
      fn();
    }, ms);
    // Transaction timers must never keep the process alive on their own.
    t.unref?.();
    this.slots[name] = t;
  }

  clear(name: K): void {
    const t = this.slots[name];
    if (t === undefined) return;
    clearTimeout(t);
    // Set to undefined, not deleted: a delete would turn the object into a slow dictionary.
    this.slots[name] = undefined;
  }

  has(name: K): boolean {
    return this.slots[name] !== undefined;
  }

  clearAll(): void {
    for (const name in this.slots) this.clear(name);
  }
}
