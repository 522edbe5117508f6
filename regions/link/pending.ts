/**
 * Requests waiting for their reply, keyed by request id. Bounded (a peer that
 * stops answering cannot make us hold unlimited promises) and every entry has
 * a timer: a request always settles — reply, timeout, link loss or close.
 */
import { ERROR_CATALOGUE, MeshError, type ErrorCode } from '../core/errors.js';
import type { Envelope, EnvelopeBody } from '../proto/types.js';

interface Entry {
  resolve: (body: EnvelopeBody) => void;
  reject: (e: MeshError) => void;
  timer: NodeJS.Timeout;
  /** Connection it went out on; undefined while it waits in the send queue. */
  connectionId: number | undefined;
}

export class PendingRequests {
  private readonly entries = new Map<string, Entry>();
  readonly max: number;
  /** Called when an entry times out (so a queued frame can be dropped). */
  onTimeout: ((requestId: string) => void) | undefined;

  constructor(max: number) {
    this.max = max;
  }

  get size(): number {
    return this.entries.size;
  }

  has(requestId: string): boolean {
    return this.entries.has(requestId);
  }

  /**
   * Register a request. Throws MeshError('RATE_LIMITED') when `max` requests
   * are already outstanding.
   */
  add(requestId: string, timeoutMs: number, connectionId: number | undefined, what: string): Promise<EnvelopeBody> {
    if (this.entries.size >= this.max) {
      throw new MeshError('RATE_LIMITED', `too many outstanding requests on region link (${this.max})`, {
        detail: { max: this.max },
      });
    }
    return new Promise<EnvelopeBody>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.entries.delete(requestId);
        this.onTimeout?.(requestId);
        reject(new MeshError('UPSTREAM_TIMEOUT', `${what} timed out after ${timeoutMs} ms`, { detail: { requestId, timeoutMs } }));
      }, timeoutMs);
      this.entries.set(requestId, { resolve, reject, timer, connectionId });
    });
  }

  markSent(requestId: string, connectionId: number): void {
    const e = this.entries.get(requestId);
    if (e !== undefined) e.connectionId = connectionId;
  }

  /** Settle the request a REPLY answers. Returns false for an unknown (late) reply. */
  settle(reply: Envelope): boolean {
    const e = this.entries.get(reply.replyTo);
    if (e === undefined) return false;
    this.entries.delete(reply.replyTo);
    clearTimeout(e.timer);
    if (reply.body.type === 'errorReply') {
      // Own keys only: a peer's `constructor` is not a catalogue entry.
      const code = (Object.hasOwn(ERROR_CATALOGUE, reply.body.value.code) ? reply.body.value.code : 'INTERNAL') as ErrorCode;
      e.reject(new MeshError(code, reply.body.value.message, { detail: { remote: true, remoteCode: reply.body.value.code } }));
    } else {
      e.resolve(reply.body);
    }
    return true;
  }

  reject(requestId: string, error: MeshError): void {
    const e = this.entries.get(requestId);
    if (e === undefined) return;
    this.entries.delete(requestId);
    clearTimeout(e.timer);
    e.reject(error);
  }

  /** Reject what went out on a connection that is now gone (its reply can never come). */
  rejectSentOn(connectionId: number, error: MeshError): void {
    for (const [id, e] of this.entries) if (e.connectionId === connectionId) this.reject(id, error);
  }

  rejectAll(error: MeshError): void {
    for (const id of [...this.entries.keys()]) this.reject(id, error);
  }
}
