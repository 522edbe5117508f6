/**
 * The media vocabulary of a call leg, in one place for both sides of the
 * leg contract: the call router's `CallLeg` (`signaling/router/leg.ts`) and
 * the rtpengine operations that implement it (`media/leg/`). Here, in the
 * shared kernel, because `signaling/` and `media/` do not import each other.
 */

/** Where rtpengine expects the platform side's RTP for a leg (used to bridge two legs). */
export interface MediaEndpoint {
  address: string;
  port: number;
}

export interface RecordingResult {
  /** Absolute path of an 8 kHz mono 16-bit WAV of what the party said. */
  path: string;
  durationMs: number;
  bytes: number;
}

export interface RecordingHandle {
  /** Stop and close the file; idempotent. */
  stop(): Promise<RecordingResult>;
}
