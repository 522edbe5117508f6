/**
 * Frames waiting for a region link to come back. Bounded by count and bytes:
 * a long outage must not grow memory without limit, so once full, new frames
 * are refused (MeshError SERVICE_UNAVAILABLE) and the caller decides (e.g. the
 * branch tunnel keeps its media on local disk instead).
 */
import { MeshError } from '../core/errors.js';

export interface QueuedFrame {
  frame: Buffer;
  /** Set for requests, so a request that timed out while queued can be dropped. */
  requestId?: string;
}

export interface SendQueueOptions {
  /** Most frames held. Default 1000. */
  maxItems?: number;
  /** Most bytes held. Default 1 MiB. */
  maxBytes?: number;
}

export class SendQueue {
  readonly maxItems: number;
  readonly maxBytes: number;
  private items: QueuedFrame[] = [];
  private byteCount = 0;

  constructor(opts: SendQueueOptions = {}) {
    this.maxItems = opts.maxItems ?? 1000;
    this.maxBytes = opts.maxBytes ?? 1024 * 1024;
  }

  get size(): number {
    return this.items.length;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Append, or throw MeshError('SERVICE_UNAVAILABLE') when either bound would be exceeded. */
  push(item: QueuedFrame): void {
    if (this.items.length >= this.maxItems || this.byteCount + item.frame.length > this.maxBytes) {
      throw new MeshError('SERVICE_UNAVAILABLE', 'region link is down and its send queue is full', {
        detail: { queued: this.items.length, queuedBytes: this.byteCount, maxItems: this.maxItems, maxBytes: this.maxBytes },
      });
    }
    this.items.push(item);
    this.byteCount += item.frame.length;
  }

  /** Drop a queued request (it timed out before the link returned). */
  removeRequest(requestId: string): boolean {
    const i = this.items.findIndex((it) => it.requestId === requestId);
    if (i < 0) return false;
    const [it] = this.items.splice(i, 1);
    this.byteCount -= it?.frame.length ?? 0;
    return true;
  }

  /** Take everything, oldest first. */
  drain(): QueuedFrame[] {
    const out = this.items;
    this.items = [];
    this.byteCount = 0;
    return out;
  }
}
