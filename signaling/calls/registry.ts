/**
 * The one registry of the calls a signaling node handles: calls the B2BUA
 * relays, inbound calls answered by an application, API-originated calls and
 * `Dial` legs. Each kind keeps its own protocol state where it lives
 * (b2bua/, inbound-app.ts, originator.ts); what concerns the node as a whole
 * is decided here, once:
 *
 * - how many calls the node has (`size`, `counts()`): the capacity check, the
 *   load announced to discovery and the metrics all read this one number;
 * - admission: a new call beyond `maxCalls` is refused with 503 + Retry-After
 *   (`admit()`), whatever its kind; so is every new call while an operator
 *   drains the node (`isDraining`), and the calls it has go on;
 * - dispatch of node-level events to the owner of each kind: an API hangup or
 *   redirect, and the death of a media node (the B2BUA re-anchors its calls,
 *   the platform's own calls are ended).
 */
import { MeshError } from '../../regions/core/errors.js';

export type CallKind = 'b2bua' | 'inbound-app' | 'originated';

export const CALL_KINDS: readonly CallKind[] = ['b2bua', 'inbound-app', 'originated'];

/** What the owner of a kind of call does when the node asks. */
export interface CallKindOwner {
  /** Hang up one call of this kind (API `Status=completed`); false when it is not here. */
  hangup(callSid: string): Promise<boolean>;
  /** Run another document on the call (API `Url`); false when it is not here or cannot. */
  redirect(callSid: string, url: string, method: 'GET' | 'POST'): Promise<boolean>;
  /** A media node died (confirmed): move or end this kind's calls on it; resolves with how many were touched. */
  onMediaNodeDown(nodeId: string): Promise<number>;
}

export interface CallRegistryLimits {
  /** Calls of every kind at once; beyond it new calls are refused. */
  maxCalls: number;
  /** Retry-After seconds of the refusal. */
  retryAfterSeconds: number;
}

export class CallRegistry {
  private readonly calls = new Map<string, CallKind>();
  private readonly owners = new Map<CallKind, CallKindOwner>();
  private draining = false;

  constructor(readonly limits: CallRegistryLimits) {}

  /** An operator drained this node (regions/store/drained-nodes.ts): no new calls, live ones go on. */
  get isDraining(): boolean {
    return this.draining;
  }

  setDraining(draining: boolean): void {
    this.draining = draining;
  }

  /** The component that handles calls of `kind`. One owner per kind; a later call replaces it. */
  setOwner(kind: CallKind, owner: CallKindOwner): void {
    this.owners.set(kind, owner);
  }

  /** Calls of every kind live on this node. */
  get size(): number {
    return this.calls.size;
  }

  counts(): Record<CallKind, number> {
    const out: Record<CallKind, number> = { b2bua: 0, 'inbound-app': 0, originated: 0 };
    for (const kind of this.calls.values()) out[kind] += 1;
    return out;
  }

  /** Whether one more call fits. */
  hasRoom(): boolean {
    return this.calls.size < this.limits.maxCalls;
  }

  /**
   * Refuse a new call when the node is drained (NODE_DRAINING) or full
   * (CALL_CAPACITY), both SIP 503 with Retry-After, before any resource is taken for it.
   */
  admit(): void {
    if (this.draining) throw new MeshError('NODE_DRAINING', 'node drained by an operator: no new calls', { retryAfter: this.limits.retryAfterSeconds });
    if (!this.hasRoom()) {
      throw new MeshError('CALL_CAPACITY', `node at its call capacity (${this.limits.maxCalls})`, {
        retryAfter: this.limits.retryAfterSeconds,
        detail: { maxCalls: this.limits.maxCalls },
      });
    }
  }

  /** A call of `kind` is live on this node. Idempotent. */
  add(callSid: string, kind: CallKind): void {
    this.calls.set(callSid, kind);
  }

  /** The call ended (or moved away). Idempotent. */
  remove(callSid: string): void {
    this.calls.delete(callSid);
  }

  kindOf(callSid: string): CallKind | undefined {
    return this.calls.get(callSid);
  }

  /** API hangup: to the owner of the call's kind; false when the call is not live here. */
  async hangup(callSid: string): Promise<boolean> {
    const kind = this.calls.get(callSid);
    const owner = kind === undefined ? undefined : this.owners.get(kind);
    return owner === undefined ? false : owner.hangup(callSid);
  }

  /** API redirect: to the owner of the call's kind; false when the call is not live here. */
  async redirect(callSid: string, url: string, method: 'GET' | 'POST'): Promise<boolean> {
    const kind = this.calls.get(callSid);
    const owner = kind === undefined ? undefined : this.owners.get(kind);
    return owner === undefined ? false : owner.redirect(callSid, url, method);
  }

  /**
   * A media node died: every owner handles its calls on it (re-anchor or end).
   * One owner failing does not keep the others from acting; resolves with what
   * each kind touched, and the errors of those that failed.
   */
  async onMediaNodeDown(nodeId: string): Promise<{ touched: Record<CallKind, number>; errors: { kind: CallKind; error: unknown }[] }> {
    const touched: Record<CallKind, number> = { b2bua: 0, 'inbound-app': 0, originated: 0 };
    const errors: { kind: CallKind; error: unknown }[] = [];
    await Promise.all(
      [...this.owners].map(async ([kind, owner]) => {
        try {
          touched[kind] = await owner.onMediaNodeDown(nodeId);
        } catch (error) {
          errors.push({ kind, error });
        }
      }),
    );
    return { touched, errors };
  }
}
