/**
 * The media half of a call leg (the router's `CallLeg`, signaling/router/leg.ts)
 * on a media node (a MediaEngine, media/engine; the ng commands named below are
 * what its rtpengine implementation sends). The leg is one rtpengine session with two
 * parties: the phone ("party") and the platform. Checked on rtpengine 10.5
 * (userspace):
 *
 * - play: `play media` with from-tag = the party's tag plays the file *to*
 *   the party; `stop media` ends it early.
 * - digits in: rtpengine's DTMF log (`--dtmf-log-dest`), via DtmfEvents.
 * - digits out: telephone-event packets the platform sends into its own
 *   side of the session (rfc4733.ts says why not `play DTMF`).
 * - bridge: a new offer/answer inside rtpengine (no SIP re-INVITE) whose
 *   platform SDP points at the other leg's platform-side port; unbridge
 *   points it back at the discard address.
 * - recording: a media subscription of the party's RTP (leg-recording.ts).
 *
 * Two ng flags on every platform SDP we send, both found by experiment:
 * - `port-latching`: without it rtpengine 10.5 keys the party-facing port
 *   set by the platform's SDP endpoint, so pointing the platform side
 *   somewhere new opens a *new* party-facing port and advertises it in the
 *   returned SDP. The old port kept relaying (tested 12 s) but ports pile up
 *   per bridge target; with the flag the party-facing port never changes.
 * - `asymmetric`: the platform side is no phone, so rtpengine must send to
 *   the SDP address and not learn one from packets. Otherwise the first
 *   telephone-event packet we send re-points the party's audio at our
 *   sender's socket and a bridge goes silent.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { MeshError } from '../../regions/core/errors.js';
import type { UdpPortPool } from '../central/port-pool.js';
import type { MediaEngine, MediaSdpOptions } from '../engine/types.js';
import { webrtcSdpOptions } from '../engine/webrtc-sdp.js';
import type { DtmfSubscriber } from './dtmf-events.js';
import { startLegRecording, assertRecordingsDir, type LegRecordingHandle } from './leg-recording.js';
import { answerDirection, sdpAudioEndpoint as sdpAudioTarget } from '../../regions/core/sdp.js';
import { assertEndpoint, platformSdp } from './platform-sdp.js';
import { parseDigitString, TelephoneEventSender, type DigitStep, type DtmfToneOptions } from './rfc4733.js';
import type { MediaEndpoint, RecordingHandle, RecordingResult } from '../../regions/core/leg-media.js';

export interface LegMediaOptions {
  /** The media node that holds the leg's session. */
  engine: MediaEngine;
  /** rtpengine call-id (the SIP Call-ID of the leg's dialog). */
  callId: string;
  /** The party's tag in the rtpengine session. */
  partyTag: string;
  /** The platform's own side's tag. */
  platformTag: string;
  /**
   * Who made the initial offer: 'party' (inbound call: offer from the party,
   * answer from the platform with the discard SDP) or 'platform' (outbound
   * call: offer from the platform, the party answered).
   */
  offerer: 'party' | 'platform';
  /** The party's current SDP (renegotiations inside rtpengine restate it). */
  partySdp: () => string;
  /** Where rtpengine receives the platform side's RTP (from the SDP rtpengine returned for the platform side). */
  platformEndpoint: MediaEndpoint;
  /** Digits pressed by parties (a DtmfEvents listening on rtpengine's --dtmf-log-dest). */
  dtmf: DtmfSubscriber;
  /** Folder of the recordings' WAV files. */
  recordingsDir: string;
  /**
   * Local address of the platform's own RTP sockets (the DTMF sender, the
   * recording receivers); rtpengine must reach it. Default 127.0.0.1.
   */
  rtpAddress?: string;
  /** Ports for recording receivers. Default: an ephemeral port on rtpAddress. */
  recordPorts?: UdpPortPool;
  /** Longest recording. Default 14400 s. */
  maxRecordingSec?: number;
  /** A recording finishes by itself after this long without RTP. Default 60000 ms. */
  recordingIdleTimeoutMs?: number;
  /** Tone timing of sendDigits. Defaults: 100 ms tones, 100 ms gaps, `w` = 500 ms. */
  digits?: DtmfToneOptions;
  /**
   * The party is a browser (a WebRTC client): every renegotiation keeps its side
   * WebRTC (ICE, DTLS-SRTP, rtcp-mux) and the platform side plain RTP, with
   * transcoding when the browser offers no PCMU (engine/webrtc-sdp.ts). Default false.
   */
  partyIsBrowser?: boolean;
}

/** ng options of the platform side's renegotiations; `replace`/`ICE` as the B2BUA (B2BUA_SDP_DEFAULTS, media/engine), stated here so they hold whatever the engine's defaults. */
const RENEGOTIATE: Pick<MediaSdpOptions, 'replace' | 'ice'> = { replace: ['origin', 'session-connection'], ice: 'remove' };
const PLATFORM_FLAGS = ['port-latching', 'asymmetric'];

/** `a` then `b`, with both flag lists kept. */
function merged(a: MediaSdpOptions, b: MediaSdpOptions): MediaSdpOptions {
  const flags = [...(a.flags ?? []), ...(b.flags ?? [])];
  return { ...a, ...b, ...(flags.length > 0 ? { flags } : {}) };
}

export class LegMedia {
  private readonly opts: LegMediaOptions;
  private readonly rtpAddress: string;
  private endpoint: MediaEndpoint;
  /** Where the platform side points now (undefined: discard). */
  private peer: MediaEndpoint | undefined;
  /** Whether rtpengine has our flags on the platform side (the initial answer came from the B2BUA). */
  private platformFlagged = false;
  private sdpVersion = 1;
  private readonly sessionId = Math.floor(Date.now() / 1000);
  /** Renegotiations and digit strings run one at a time, in call order. */
  private negotiating: Promise<unknown> = Promise.resolve();
  private sendingDigits: Promise<unknown> = Promise.resolve();
  private readonly recordings = new Set<LegRecordingHandle>();
  private readonly digitSubscriptions = new Set<() => void>();
  private readonly closeController = new AbortController();
  private closing: Promise<void> | undefined;

  constructor(opts: LegMediaOptions) {
    for (const [name, v] of [['callId', opts.callId], ['partyTag', opts.partyTag], ['platformTag', opts.platformTag]] as const) {
      if (typeof v !== 'string' || v.length === 0) throw new MeshError('BAD_REQUEST', `LegMedia: ${name} must be a non-empty string`);
    }
    if (opts.partyTag === opts.platformTag) throw new MeshError('BAD_REQUEST', 'LegMedia: partyTag and platformTag must differ');
    if (opts.offerer !== 'party' && opts.offerer !== 'platform') throw new MeshError('BAD_REQUEST', `LegMedia: offerer must be 'party' or 'platform'`);
    assertEndpoint(opts.platformEndpoint, 'LegMedia platformEndpoint');
    assertRecordingsDir(opts.recordingsDir);
    this.rtpAddress = opts.rtpAddress ?? '127.0.0.1';
    if (isIP(this.rtpAddress) !== 4) throw new MeshError('CONFIG_INVALID', `LegMedia rtpAddress "${this.rtpAddress}" is not an IPv4 address`);
    this.opts = opts;
    this.endpoint = { ...opts.platformEndpoint };
  }

  get callId(): string {
    return this.opts.callId;
  }

  /** Where the platform side currently sends the party's media (undefined: discard). */
  get connectedTo(): MediaEndpoint | undefined {
    return this.peer === undefined ? undefined : { ...this.peer };
  }

  /**
   * Play an 8 kHz WAV to the party; resolves after the file's length
   * (rtpengine's `duration` when it reports one, else `durationMs`) or as
   * soon as `signal` aborts (playback is then stopped). Rejects if rtpengine refuses.
   */
  async play(file: string, durationMs: number, signal?: AbortSignal): Promise<void> {
    this.assertOpen();
    if (signal?.aborted === true) return;
    if (typeof file !== 'string' || file.length === 0 || file.length > 4096) throw new MeshError('BAD_REQUEST', 'play: file must be a non-empty path');
    const reported = await this.opts.engine.play(this.opts.callId, this.opts.partyTag, file);
    const waitMs = typeof reported === 'number' && Number.isFinite(reported) && reported > 0 ? reported : Math.max(0, durationMs);
    const finished = await waitOrAbort(waitMs, signal, this.closeController.signal);
    if (!finished) {
      // Best effort: the file stops by itself at its end, and the call may be gone already.
      await this.opts.engine.stopPlay(this.opts.callId, this.opts.partyTag).catch(() => undefined);
    }
  }

  /** Send DTMF to the party as RFC 4733 telephone events (0-9 * # A-D; `w` = 500 ms pause). */
  sendDigits(digits: string, signal?: AbortSignal): Promise<void> {
    let steps: DigitStep[];
    try {
      this.assertOpen();
      steps = parseDigitString(digits); // BAD_REQUEST before anything is queued
    } catch (e) {
      return Promise.reject(e);
    }
    const run = async (): Promise<void> => {
      if (steps.length === 0 || signal?.aborted === true || this.closing !== undefined) return;
      if (!this.platformFlagged) await this.renegotiate(this.peer);
      const socket = dgram.createSocket('udp4');
      socket.on('error', () => undefined); // ICMP errors of earlier sends; the next packet is sent regardless
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(0, this.rtpAddress, () => {
            socket.off('error', reject);
            resolve();
          });
        });
        const target = this.endpoint;
        // dgram sends complete asynchronously; closing the socket first would drop the last end packets.
        const inFlight = new Set<Promise<void>>();
        const transmit = (packet: Buffer): void => {
          const sent = new Promise<void>((r) => socket.send(packet, target.port, target.address, () => r()));
          inFlight.add(sent);
          void sent.then(() => inFlight.delete(sent));
        };
        const sender = new TelephoneEventSender(transmit, this.opts.digits);
        try {
          await sender.play(steps, anySignal(signal, this.closeController.signal));
        } finally {
          await Promise.all(inFlight);
        }
      } finally {
        await new Promise<void>((r) => {
          try {
            socket.close(() => r());
          } catch {
            r();
          }
        });
      }
    };
    const result = this.sendingDigits.then(run, run);
    this.sendingDigits = result.catch(() => undefined);
    return result;
  }

  /** Listen for digits the party presses; returns the unsubscribe function. */
  onDigit(listener: (digit: string) => void): () => void {
    this.assertOpen();
    const unsubscribe = this.opts.dtmf.subscribe(this.opts.callId, this.opts.partyTag, (e) => listener(e.digit));
    let done = false;
    const off = (): void => {
      if (done) return;
      done = true;
      this.digitSubscriptions.delete(off);
      unsubscribe();
    };
    this.digitSubscriptions.add(off);
    return off;
  }

  /** Start recording what the party says (an 8 kHz 16-bit mono WAV under recordingsDir). */
  async startRecording(): Promise<RecordingHandle> {
    this.assertOpen();
    const socket = this.opts.recordPorts !== undefined ? await this.opts.recordPorts.bind() : await bindUdp(this.rtpAddress);
    const handle = await startLegRecording({
      engine: this.opts.engine,
      callId: this.opts.callId,
      partyTag: this.opts.partyTag,
      recordingsDir: this.opts.recordingsDir,
      socket,
      ...(this.opts.maxRecordingSec === undefined ? {} : { maxDurationSec: this.opts.maxRecordingSec }),
      ...(this.opts.recordingIdleTimeoutMs === undefined ? {} : { idleTimeoutMs: this.opts.recordingIdleTimeoutMs }),
    });
    if (this.closing !== undefined) {
      await handle.stop().catch(() => undefined);
      throw new MeshError('CLOSED', `leg media of ${this.opts.callId} closed while the recording started`);
    }
    this.recordings.add(handle);
    return {
      stop: async (): Promise<RecordingResult> => {
        try {
          return await handle.stop();
        } finally {
          this.recordings.delete(handle);
        }
      },
    };
  }

  /** Where the platform side of this leg receives RTP. */
  mediaEndpoint(): MediaEndpoint {
    return { ...this.endpoint };
  }

  /** Send the party's media to `peer` (bridge) or to the discard address (`undefined`: unbridge). */
  async connectMedia(peer: MediaEndpoint | undefined): Promise<void> {
    this.assertOpen();
    if (peer !== undefined) assertEndpoint(peer, 'connectMedia peer');
    await this.renegotiate(peer === undefined ? undefined : { address: peer.address, port: peer.port });
  }

  /**
   * The party sent a new offer in the dialog (a re-INVITE: hold, resume, a new
   * address): `partySdp()` already returns it. rtpengine takes it as an offer
   * from the party and the platform side answers as it stands now (bridged
   * peer or discard); resolves with the SDP to answer the party with (200 OK).
   */
  answerPartyOffer(): Promise<string> {
    this.assertOpen();
    const run = async (): Promise<string> => {
      const { engine, callId, partyTag, platformTag } = this.opts;
      this.sdpVersion++;
      const partySdp = this.opts.partySdp();
      const ours = platformSdp(this.peer, { sessionId: this.sessionId, sessionVersion: this.sdpVersion, direction: answerDirection(partySdp) });
      const offer = await engine.offer(callId, partyTag, partySdp, { ...this.fromParty(partySdp, true), extra: { 'to-tag': platformTag } });
      const answer = await engine.answer(callId, partyTag, platformTag, ours, merged(this.toParty(false), { flags: PLATFORM_FLAGS }));
      this.platformFlagged = true;
      const now = sdpAudioTarget(offer);
      if (now !== undefined) this.endpoint = now;
      return answer;
    };
    const result = this.negotiating.then(run, run);
    this.negotiating = result.catch(() => undefined);
    return result;
  }

  /**
   * Idempotent: stops digit sending and playback waits, drops digit
   * listeners and stops open recordings (their files are kept). The
   * rtpengine session itself belongs to the SIP side, which deletes it.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closeController.abort();
      for (const off of [...this.digitSubscriptions]) off();
      await Promise.allSettled([...this.recordings].map((r) => r.stop()));
      this.recordings.clear();
      await this.sendingDigits;
    })();
    return this.closing;
  }

  // ------------------------------------------------------------ internals

  /** ng options of a command given the party's SDP (what it returns goes to the platform side). */
  private fromParty(partySdp: string, isOffer: boolean): MediaSdpOptions {
    return this.opts.partyIsBrowser === true ? merged(RENEGOTIATE, webrtcSdpOptions('sender', partySdp, isOffer)) : { ...RENEGOTIATE };
  }

  /** ng options of a command whose returned SDP is for the party. */
  private toParty(isOffer: boolean): MediaSdpOptions {
    return this.opts.partyIsBrowser === true ? merged(RENEGOTIATE, webrtcSdpOptions('receiver', '', isOffer)) : { ...RENEGOTIATE };
  }

  private assertOpen(): void {
    if (this.closing !== undefined) throw new MeshError('CLOSED', `leg media of ${this.opts.callId} is closed`);
  }

  /** One offer/answer inside rtpengine pointing the platform side at `peer` (or discard). Serialized. */
  private renegotiate(peer: MediaEndpoint | undefined): Promise<void> {
    const run = async (): Promise<void> => {
      const { engine, callId, partyTag, platformTag } = this.opts;
      this.sdpVersion++;
      // Answering the party's offer: mirror its direction (a party on hold stays on hold).
      const direction = this.opts.offerer === 'party' ? answerDirection(this.opts.partySdp()) : 'sendrecv';
      const ours = platformSdp(peer, { sessionId: this.sessionId, sessionVersion: this.sdpVersion, direction });
      let forPlatform: string;
      if (this.opts.offerer === 'party') {
        // Same direction as the dialog's first offer: the party re-offers its SDP, the platform answers anew.
        const partySdp = this.opts.partySdp();
        forPlatform = await engine.offer(callId, partyTag, partySdp, { ...this.fromParty(partySdp, true), extra: { 'to-tag': platformTag } });
        await engine.answer(callId, partyTag, platformTag, ours, merged(this.toParty(false), { flags: PLATFORM_FLAGS }));
      } else {
        await engine.offer(callId, platformTag, ours, { ...merged(this.toParty(true), { flags: PLATFORM_FLAGS }), extra: { 'to-tag': partyTag } });
        const partySdp = this.opts.partySdp();
        forPlatform = await engine.answer(callId, platformTag, partyTag, partySdp, this.fromParty(partySdp, false));
      }
      this.peer = peer;
      this.platformFlagged = true;
      // rtpengine keeps the platform-facing port across renegotiations (checked); should it ever
      // move, follow it so that digits still reach the session.
      const now = sdpAudioTarget(forPlatform);
      if (now !== undefined) this.endpoint = now;
    };
    const result = this.negotiating.then(run, run);
    this.negotiating = result.catch(() => undefined);
    return result;
  }
}

async function bindUdp(address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: 'udp4', recvBufferSize: 256 * 1024 });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, address, () => {
      socket.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    socket.close();
    throw new MeshError('SERVICE_UNAVAILABLE', `cannot bind a recording port on ${address}: ${(e as Error).message}`, { cause: e });
  });
  return socket;
}

/** Resolves true after `ms`, false as soon as any signal aborts. */
function waitOrAbort(ms: number, ...signals: (AbortSignal | undefined)[]): Promise<boolean> {
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  if (live.some((s) => s.aborted)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (finished: boolean): void => {
      clearTimeout(timer);
      for (const s of live) s.removeEventListener('abort', onAbort);
      resolve(finished);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    for (const s of live) s.addEventListener('abort', onAbort, { once: true });
  });
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
}
