/**
 * The live dialogs of one signaling node, keyed by `dialogKey`, so that a
 * request received inside a dialog finds its state (RFC 3261 §12.2.2).
 * Bounded: a flood of dialog-creating requests cannot grow it without limit.
 */
import { MeshError } from '../../../regions/core/errors.js';
import type { SipMessage } from '../message/types.js';
import type { Dialog } from './dialog.js';
import { dialogKeyForIncoming } from './dialog-key.js';

/** Default bound on live dialogs per table. */
export const DEFAULT_MAX_DIALOGS = 100_000;

export interface DialogTableOptions {
  /** Most dialogs held at once; `add` beyond it throws SERVICE_UNAVAILABLE. Default 100000. */
  maxDialogs?: number;
}

export class DialogTable {
  readonly maxDialogs: number;
  private readonly dialogs = new Map<string, Dialog>();

  constructor(opts: DialogTableOptions = {}) {
    const max = opts.maxDialogs ?? DEFAULT_MAX_DIALOGS;
    if (!Number.isInteger(max) || max < 1) throw new MeshError('CONFIG_INVALID', `maxDialogs must be a positive integer, got ${max}`);
    this.maxDialogs = max;
  }

  get size(): number {
    return this.dialogs.size;
  }

  /**
   * Add a dialog. Adding the same object again is a no-op; a different dialog
   * under an existing key throws CONFLICT; a full table throws
   * SERVICE_UNAVAILABLE (the caller answers 503 with Retry-After).
   */
  add(dialog: Dialog): void {
    const key = dialog.key;
    const existing = this.dialogs.get(key);
    if (existing === dialog) return;
    if (existing !== undefined) throw new MeshError('CONFLICT', `dialog ${key} already exists`);
    if (this.dialogs.size >= this.maxDialogs) {
      throw new MeshError('SERVICE_UNAVAILABLE', `dialog table full (${this.maxDialogs})`, { retryAfter: 5 });
    }
    this.dialogs.set(key, dialog);
  }

  get(key: string): Dialog | undefined {
    return this.dialogs.get(key);
  }

  has(key: string): boolean {
    return this.dialogs.has(key);
  }

  /** Dialog a received request or response belongs to, if any (see `dialogKeyForIncoming`). */
  findForIncoming(msg: SipMessage): Dialog | undefined {
    const key = dialogKeyForIncoming(msg);
    return key === undefined ? undefined : this.dialogs.get(key);
  }

  /** Remove by dialog or key; true if something was removed. */
  delete(dialogOrKey: Dialog | string): boolean {
    const key = typeof dialogOrKey === 'string' ? dialogOrKey : dialogOrKey.key;
    return this.dialogs.delete(key);
  }

  values(): IterableIterator<Dialog> {
    return this.dialogs.values();
  }

  /** Drop every dialog (node shutdown). Idempotent. */
  clear(): void {
    this.dialogs.clear();
  }
}
