/**
 * A `CallLeg` made of two halves: the SIP side (answer, reject, hang up: an
 * inbound UAS dialog or an outbound UAC dialog) and the media side (rtpengine
 * operations on the leg's session, media/leg). The owner of the SIP dialog
 * calls `markEnded` once when the dialog ends, whoever ended it.
 */
import type { CallLeg, LegEndReason, MediaEndpoint, RecordingHandle } from '../router/leg.js';

export type LegMediaOps = Pick<CallLeg, 'play' | 'sendDigits' | 'onDigit' | 'startRecording' | 'mediaEndpoint' | 'connectMedia'> & {
  /** Release what the media side holds for the leg (listeners, sockets, open recordings). */
  close?(): Promise<void>;
  /** The party re-offered (re-INVITE): renegotiate inside the media engine; resolves with the SDP to answer it with. */
  answerPartyOffer?(): Promise<string>;
};

export interface LegSipSide {
  answer(): Promise<void>;
  reject(reason: 'busy' | 'rejected'): Promise<void>;
  hangup(): Promise<void>;
}

export class PlatformLeg implements CallLeg {
  readonly ended: Promise<LegEndReason>;
  private endedReason: LegEndReason | undefined;
  private resolveEnded!: (r: LegEndReason) => void;
  private isAnswered: boolean;

  constructor(
    readonly callSid: string,
    readonly accountSid: string,
    readonly callId: string,
    private readonly sip: LegSipSide,
    private readonly media: LegMediaOps,
    answered: boolean,
  ) {
    this.isAnswered = answered;
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  get answered(): boolean {
    return this.isAnswered;
  }

  get isEnded(): boolean {
    return this.endedReason !== undefined;
  }

  /** Called by the SIP side: the dialog is confirmed. */
  markAnswered(): void {
    this.isAnswered = true;
  }

  /** Called by the SIP side once, when the dialog is over. Later calls are ignored. */
  markEnded(reason: LegEndReason): void {
    if (this.endedReason !== undefined) return;
    this.endedReason = reason;
    this.resolveEnded(reason);
    void this.media.close?.().catch(() => undefined);
  }

  async answer(): Promise<void> {
    if (this.isAnswered || this.isEnded) return;
    await this.sip.answer();
  }

  reject(reason: 'busy' | 'rejected'): Promise<void> {
    return this.isEnded ? Promise.resolve() : this.sip.reject(reason);
  }

  hangup(): Promise<void> {
    return this.isEnded ? Promise.resolve() : this.sip.hangup();
  }

  play(file: string, durationMs: number, signal?: AbortSignal): Promise<void> {
    return this.media.play(file, durationMs, signal);
  }

  sendDigits(digits: string, signal?: AbortSignal): Promise<void> {
    return this.media.sendDigits(digits, signal);
  }

  onDigit(listener: (digit: string) => void): () => void {
    return this.media.onDigit(listener);
  }

  startRecording(): Promise<RecordingHandle> {
    return this.media.startRecording();
  }

  mediaEndpoint(): MediaEndpoint {
    return this.media.mediaEndpoint();
  }

  connectMedia(peer: MediaEndpoint | undefined): Promise<void> {
    return this.media.connectMedia(peer);
  }

  /** A re-INVITE from the party: the SDP for the 200 OK, or undefined when the media side cannot renegotiate. */
  async answerPartyOffer(): Promise<string | undefined> {
    return this.media.answerPartyOffer === undefined ? undefined : this.media.answerPartyOffer();
  }
}
