/**
 * The contract between the call router (which runs instruction documents) and
 * the call it runs them on. A `CallLeg` is one party's SIP dialog with the
 * platform, its RTP anchored on an rtpengine session in which the platform
 * is the other party (the "platform side"). Everything the router does to the
 * media goes through this interface, so the verb executor is pure logic that
 * unit tests drive with a fake leg, and the real leg (rtpengine + SIP) is
 * tested against real components.
 *
 * Media model (checked against rtpengine 10.5):
 * - `play media` with `from-tag` = the party's tag plays a file *to* that party;
 * - RFC 2833 digits the party sends are reported by rtpengine's DTMF log
 *   (`--dtmf-log-dest`), keyed by call-id and source tag;
 * - two legs are bridged by pointing each platform side's media at the
 *   other's platform-side port (an offer/answer inside rtpengine, no SIP
 *   re-INVITE), and unbridged by pointing it back at the discard address.
 */

/** How a leg ended, from the router's point of view. */
export type LegEndReason = 'remote-hangup' | 'local-hangup' | 'rejected' | 'failed';

import type { MediaEndpoint, RecordingHandle, RecordingResult } from '../../regions/core/leg-media.js';

/** The media vocabulary is shared with media/leg (regions/core/leg-media.ts). */
export type { MediaEndpoint, RecordingHandle, RecordingResult } from '../../regions/core/leg-media.js';

export interface CallLeg {
  readonly callSid: string;
  readonly accountSid: string;
  /** SIP Call-ID of the leg's dialog (the rtpengine call-id). */
  readonly callId: string;
  /** Whether the platform has answered the leg (inbound) or the far end answered (outbound). */
  readonly answered: boolean;
  /** Resolves once, when the leg ends for any reason. Never rejects. */
  readonly ended: Promise<LegEndReason>;
  readonly isEnded: boolean;

  /** Inbound: answer with 200 OK (no-op when already answered). */
  answer(): Promise<void>;
  /** Inbound, not answered yet: reject (busy → 486, rejected → 603). */
  reject(reason: 'busy' | 'rejected'): Promise<void>;
  /** End the call (BYE, or CANCEL/final response when not answered); idempotent. */
  hangup(): Promise<void>;

  /**
   * Play an 8 kHz WAV file to the party, resolving when it has played
   * (`durationMs` is the file's length) or when `signal` aborts (playback is
   * then stopped). Rejects if the media engine refuses.
   */
  play(file: string, durationMs: number, signal?: AbortSignal): Promise<void>;
  /** Send DTMF digits to the party (0-9 * # A-D; `w` = 500 ms pause). */
  sendDigits(digits: string, signal?: AbortSignal): Promise<void>;
  /** Listen for digits the party presses; returns the unsubscribe function. */
  onDigit(listener: (digit: string) => void): () => void;
  /** Start recording what the party says. */
  startRecording(): Promise<RecordingHandle>;

  /** Where the platform side of this leg receives RTP. */
  mediaEndpoint(): MediaEndpoint;
  /** Send the party's media to `peer` (bridge) or to nowhere (`undefined`: unbridge). */
  connectMedia(peer: MediaEndpoint | undefined): Promise<void>;
}

/** Outcome of placing a new leg for `Dial`. */
export type DialOutcome =
  | { status: 'answered'; leg: CallLeg }
  | { status: 'busy' | 'no-answer' | 'failed' | 'canceled'; sipStatus?: number };

export interface DialRequest {
  /** The call that dials (parent): its account, its SID for the child record. */
  parent: CallLeg;
  /**
   * A phone number (routed), a `sip:` URI, or `client:<identity>` (every live
   * registration of that client in the parent's account rings; the first to
   * answer is the leg).
   */
  to: string;
  from: string;
  /** Custom parameters for a `client:` destination (`<Client><Parameter>`); ignored for others. */
  clientParameters?: readonly { name: string; value: string }[];
  /** Ring time in seconds. */
  timeoutSeconds: number;
  /** Aborting cancels the attempt (the parent hung up). */
  signal: AbortSignal;
}

/** Places child legs (Dial). The real one reuses the originator's SIP/rtpengine path. */
export interface LegDialer {
  dial(req: DialRequest): Promise<DialOutcome>;
}

/** A call's place in a named queue. */
export interface QueuePlace {
  queueSid: string;
  /** 1-based position, front = 1. */
  position: number;
  /** Calls waiting in the queue, this one included. */
  size: number;
}

/**
 * Queue state in Redis (shared with the control plane's Queues API). Queues
 * are per account and named; `Enqueue` creates a missing queue.
 */
export interface CallQueues {
  /** Put the call at the back; fails with MeshError 'CONFLICT' (detail.queueFull = true) when the queue is at MaxSize. */
  enqueue(accountSid: string, queueName: string, callSid: string): Promise<QueuePlace>;
  /** Where the call is now, or undefined once it has left the queue. */
  position(queueSid: string, callSid: string): Promise<QueuePlace | undefined>;
  /** Remove the call (it left, hung up, or was bridged); idempotent. */
  leave(queueSid: string, callSid: string): Promise<void>;
  /** Atomically take the front call of the account's named queue; undefined when empty or no such queue. */
  dequeueFront(accountSid: string, queueName: string): Promise<{ queueSid: string; callSid: string; waitedMs: number } | undefined>;
}

/** Where finished recordings go: a Recording resource (control-plane schema) and usage. */
export interface RecordingSink {
  /** Store the WAV of a finished recording; returns the Recording resource's SID and its media URL. */
  save(r: { accountSid: string; callSid: string; source: 'RecordVerb' | 'DialVerb'; result: RecordingResult }): Promise<{ recordingSid: string; url: string }>;
}
