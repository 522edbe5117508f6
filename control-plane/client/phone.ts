/**
 * The softphone's SIP side over JsSIP: one user agent registered as
 * `client:<identity>` over SIP over WebSocket (RFC 7118), at most one call at
 * a time (a second incoming call is answered 486 Busy Here). The token goes
 * both in the WebSocket URL (`access_token`) and as `Authorization: Bearer`
 * (RFC 8898) on every request JsSIP sends (its `authorization_jwt`). The page
 * (`main.ts`) drives it and renders what it reports.
 */
import * as JsSIP from 'jssip';
import type { RTCSession } from 'jssip/lib/RTCSession';
import type { RTCSessionEvent } from 'jssip/lib/UA';
import { sipDomain, signalingUrlWithToken } from './signaling-url.js';

export type RegistrationState = 'unregistered' | 'connecting' | 'registered' | 'failed';
export type CallState = 'idle' | 'calling' | 'ringing' | 'incoming' | 'connected' | 'ended';

export interface PhoneEvents {
  registration(state: RegistrationState, detail: string): void;
  call(state: CallState, detail: string): void;
  /** The far end's audio, once the call has media. */
  remoteStream(stream: MediaStream): void;
}

/** Registration lifetime asked for; the node bounds it (sip.websocket.registrations). */
const REGISTER_EXPIRES_S = 600;
const MEDIA = { audio: true, video: false } as const;

function sessionEnd(e: { cause?: string; message?: { status_code?: number; reason_phrase?: string } | null }): string {
  const status = e.message?.status_code !== undefined ? `${e.message.status_code} ${e.message.reason_phrase ?? ''}`.trim() : undefined;
  return [e.cause, status].filter((s) => s !== undefined && s !== '').join(': ');
}

export class Phone {
  #ua: JsSIP.UA | undefined;
  #domain = '';
  #session: RTCSession | undefined;
  #muted = false;

  constructor(private readonly events: PhoneEvents) {}

  get inCall(): boolean {
    return this.#session !== undefined;
  }

  get muted(): boolean {
    return this.#muted;
  }

  /** Connects and registers as `client:<identity>`; a running agent is stopped first. */
  register(signalingUrl: string, token: string, identity: string): void {
    this.unregister();
    const domain = sipDomain(signalingUrl);
    const socket = new JsSIP.WebSocketInterface(signalingUrlWithToken(signalingUrl, token));
    const ua = new JsSIP.UA({
      sockets: [socket],
      // The node binds the token's identity whatever the AOR says; the identity as user reads plainly in traces.
      uri: new JsSIP.URI('sip', identity, domain).toString(),
      authorization_jwt: `Bearer ${token}`,
      register: true,
      register_expires: REGISTER_EXPIRES_S,
      session_timers: false,
      user_agent: 'edge-mesh softphone',
      // A refused token stays refused: retrying the connection in a loop would only hammer the node.
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 30,
    });
    this.#ua = ua;
    this.#domain = domain;
    ua.on('connecting', () => this.events.registration('connecting', `connecting to ${signalingUrl}`));
    ua.on('disconnected', () => {
      if (this.#ua === ua) this.events.registration('connecting', 'connection lost; reconnecting');
    });
    ua.on('registered', () => this.events.registration('registered', `registered as client:${identity}`));
    ua.on('unregistered', () => {
      if (this.#ua === ua) this.events.registration('unregistered', 'registration ended');
    });
    ua.on('registrationFailed', (e) => {
      const r = e.response as { status_code?: number; reason_phrase?: string } | undefined;
      this.events.registration('failed', `registration failed: ${r?.status_code !== undefined ? `${r.status_code} ${r.reason_phrase ?? ''}`.trim() : String(e.cause ?? 'no answer')}`);
    });
    ua.on('newRTCSession', (e: RTCSessionEvent) => {
      if (e.originator !== 'remote') return;
      if (this.#session !== undefined) {
        e.session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
        return;
      }
      this.#track(e.session);
      this.events.call('incoming', `incoming call from ${e.session.remote_identity.uri.user ?? 'unknown'}`);
    });
    this.events.registration('connecting', `connecting to ${signalingUrl}`);
    ua.start();
  }

  /**
   * A fresh token (same identity) for the running agent: every later request
   * carries it in `Authorization: Bearer` (which wins over the connection's
   * `access_token`), starting with a REGISTER sent now.
   */
  updateToken(token: string): void {
    const ua = this.#ua;
    if (ua === undefined) return;
    ua.set('authorization_jwt', `Bearer ${token}`);
    ua.register();
  }

  /** Ends any call, unregisters and closes the connection. */
  unregister(): void {
    const ua = this.#ua;
    if (ua === undefined) return;
    this.#ua = undefined;
    this.hangUp();
    ua.stop();
    this.events.registration('unregistered', 'unregistered');
  }

  /** Places a call to `user` (`+1555…` or `client:alice`) in the registration's domain. */
  call(user: string): void {
    const ua = this.#ua;
    if (ua === undefined || !ua.isRegistered()) throw new Error('register first');
    if (this.#session !== undefined) throw new Error('already in a call');
    const target = new JsSIP.URI('sip', user, this.#domain);
    const session = ua.call(target.toString(), { mediaConstraints: MEDIA, pcConfig: { iceServers: [] }, rtcOfferConstraints: { offerToReceiveAudio: true } });
    this.#track(session);
    this.events.call('calling', `calling ${user}`);
  }

  answer(): void {
    this.#session?.answer({ mediaConstraints: MEDIA, pcConfig: { iceServers: [] } });
  }

  /** Rejects a ringing incoming call (486), cancels an outgoing one, or hangs up (BYE). */
  hangUp(): void {
    const s = this.#session;
    if (s === undefined || s.isEnded()) return;
    s.terminate(s.direction === 'incoming' && !s.isEstablished() ? { status_code: 486, reason_phrase: 'Busy Here' } : {});
  }

  setMuted(muted: boolean): void {
    const s = this.#session;
    if (s === undefined) return;
    if (muted) s.mute({ audio: true });
    else s.unmute({ audio: true });
    this.#muted = muted;
  }

  /** RFC 4733 telephone-events in the RTP stream (RTCDTMFSender), as carriers and IVRs expect. */
  sendDtmf(key: string): void {
    const s = this.#session;
    if (s === undefined || !s.isEstablished()) return;
    s.sendDTMF(key, { transportType: JsSIP.C.DTMF_TRANSPORT.RFC2833, duration: 100, interToneGap: 70 });
  }

  #track(session: RTCSession): void {
    this.#session = session;
    this.#muted = false;
    const streamOf = (pc: RTCPeerConnection): void => {
      pc.addEventListener('track', (ev) => {
        if (ev.track.kind === 'audio') this.events.remoteStream(ev.streams[0] ?? new MediaStream([ev.track]));
      });
    };
    if (session.connection !== undefined && session.connection !== null) streamOf(session.connection as unknown as RTCPeerConnection);
    else session.on('peerconnection', (e) => streamOf(e.peerconnection as unknown as RTCPeerConnection));
    session.on('progress', () => {
      if (session.direction === 'outgoing') this.events.call('ringing', 'ringing');
    });
    session.on('accepted', () => this.events.call('connected', 'connected'));
    const end = (what: string) => (e: Parameters<Parameters<RTCSession['on']>[1]>[0]) => {
      if (this.#session === session) this.#session = undefined;
      this.#muted = false;
      const why = sessionEnd(e as { cause?: string; message?: { status_code?: number; reason_phrase?: string } | null });
      this.events.call('ended', why === '' ? what : `${what}: ${why}`);
    };
    session.on('ended', end('call ended'));
    session.on('failed', end('call failed'));
  }
}
