/**
 * The media types of the call router's leg contract
 * (`signaling/router/leg.ts`), restated here because `media/` may import
 * only `regions/`. They are structurally identical, so a `LegMedia` is
 * usable wherever the router expects a leg's media operations (a unit test
 * checks the fit at compile time).
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
