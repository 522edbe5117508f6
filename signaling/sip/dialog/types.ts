import type { CallId, Tag } from '../../../regions/core/ids.js';

/**
 * Dialog identifier (RFC 3261 §12): Call-ID plus the local and remote tags.
 * `remoteTag` is the empty string when an RFC 2543 peer sent no From tag
 * (§12.1.1 allows a null remote tag).
 */
export interface DialogId {
  callId: CallId;
  localTag: Tag;
  remoteTag: Tag;
}

/** RFC 3261 §12: a dialog is early (1xx with To tag) or confirmed (2xx); we add terminated. */
export type DialogState = 'early' | 'confirmed' | 'terminated';

/** Which side of the dialog-creating INVITE we were. */
export type DialogRole = 'uac' | 'uas';

/** Options for `Dialog.createRequest`. */
export interface DialogRequestOptions {
  /** Message body; default empty. */
  body?: Buffer;
  /** Content-Type of `body`; required when a non-empty body is given. */
  contentType?: string;
  /**
   * Extra header fields, appended in order. A name given here replaces the
   * value the dialog would have set (Contact, Max-Forwards, Content-Type);
   * the dialog identity headers (From, To, Call-ID, CSeq, Route, Via) cannot
   * be overridden.
   */
  headers?: [string, string][];
  /**
   * Explicit CSeq number. For methods other than ACK/CANCEL it must be higher
   * than the current local sequence number, and becomes the new one.
   * Default: local sequence + 1 (ACK/CANCEL: the current local sequence).
   */
  cseq?: number;
}

/** Options for `Dialog.fromUac` / `Dialog.fromUas`. */
export interface DialogCreateOptions {
  /**
   * Contact header value placed in target-refresh requests we send
   * (RFC 3261 §12.2.1.1). UAC default: the INVITE's Contact. UAS default:
   * none (set it to the Contact of the response that created the dialog).
   */
  localContact?: string;
}

/** Options for `Dialog.fromUas`. */
export interface UasDialogOptions extends DialogCreateOptions {
  /** 'early' when the dialog is created by a 1xx, 'confirmed' by a 2xx. Default 'early'. */
  state?: 'early' | 'confirmed';
}

/** Result of `Dialog.receiveRequest` (RFC 3261 §12.2.2). */
export type ReceiveResult =
  | { ok: true }
  | { ok: false; status: 400 | 481 | 500; reason: string };
