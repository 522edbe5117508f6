import type { BencodeInput } from './bencode.js';

/**
 * Typed parameters and results of the rtpengine ng commands we use. Each
 * option maps to one ng dictionary key (named in its comment); anything not
 * modelled here can be passed through `extra`.
 */

/** ng `ICE`: what to do with ICE attributes in the rewritten SDP. */
export type NgIceMode = 'remove' | 'force' | 'default' | 'force-relay' | 'optional';

/** ng `replace`: SDP parts rtpengine rewrites with its own values. */
export type NgReplace = 'origin' | 'session-connection' | 'session-name' | 'sdp-version' | 'username' | 'zero-address';

export interface NgSdpParams {
  /** ng `call-id`: SIP Call-ID of the call. */
  callId: string;
  /** ng `from-tag`: tag of the party that sent this SDP. */
  fromTag: string;
  /** ng `sdp`: the SDP body to rewrite. */
  sdp: string;
  /** ng `via-branch`: distinguishes forked branches of one offer. */
  viaBranch?: string;
  /** ng `label`: a name for this call leg (used by later subscribe/record commands). */
  label?: string;
  /** ng `flags`, e.g. `trust-address`, `symmetric`, `asymmetric`, `port-latching`, `strict-source`. */
  flags?: string[];
  /** ng `replace`. The B2BUA default is `['origin', 'session-connection']`. */
  replace?: NgReplace[];
  /** ng `ICE`. The B2BUA default is `remove` (our SIP peers are plain RTP). */
  ice?: NgIceMode;
  /** ng `direction`: logical interface names for [from side, to side]. */
  direction?: [string, string];
  /** ng `received-from`: signaling source address, used with the `sip-source-address` flag. */
  receivedFrom?: { family: 'IP4' | 'IP6'; address: string };
  /** ng `transport-protocol`, e.g. `RTP/AVP`. */
  transportProtocol?: string;
  /** ng `rtcp-mux`: `offer`, `demux`, `accept`, `reject`, `require`. */
  rtcpMux?: string[];
  /** ng `SDES`: SDES crypto options. */
  sdes?: string[];
  /** ng `DTLS`: `off`, `passive`, `active`. */
  dtls?: string;
  /** ng `codec`: `strip`, `offer`, `transcode`, `mask`, `except` lists. */
  codec?: { strip?: string[]; offer?: string[]; transcode?: string[]; mask?: string[]; except?: string[] };
  /** ng `record call`: start recording with the call. */
  recordCall?: boolean;
  /** ng `metadata`: free text stored with the call (recording metadata). */
  metadata?: string;
  /** Any other ng keys, passed through as-is (they override the typed ones). */
  extra?: Record<string, BencodeInput>;
}

export type NgOfferParams = NgSdpParams;

export interface NgAnswerParams extends NgSdpParams {
  /** ng `to-tag`: tag of the party answering. */
  toTag: string;
}

export interface NgSdpResult {
  /** The rewritten SDP to forward to the other party. */
  sdp: string;
  /** The whole decoded reply, for keys not modelled here. */
  raw: Record<string, unknown>;
}

/** Packet/byte/error counters of one direction of one stream. */
export interface NgCounters {
  packets: number;
  bytes: number;
  errors: number;
}

export interface NgEndpoint {
  family: string;
  address: string;
  port: number;
}

export interface NgQueryStream {
  /** rtpengine's local port for this stream (where the tag's party sends to). */
  localPort: number | undefined;
  /** Where rtpengine sends this party's media (the learned or advertised peer address). */
  endpoint: NgEndpoint | undefined;
  /** The address from the party's SDP. */
  advertisedEndpoint: NgEndpoint | undefined;
  /** Received by rtpengine from this tag's party on this stream (ng `stats`). */
  in: NgCounters;
  /**
   * Sent by rtpengine to this tag's party (ng `stats_out`). rtpengine 10.5
   * does not report it: then it is undefined, and what reached this party is
   * what its peer tag's streams received.
   */
  out: NgCounters | undefined;
  /** ng stream flags, e.g. `RTP`, `RTCP`, `filled`, `confirmed`. */
  flags: string[];
}

export interface NgQueryMedia {
  index: number;
  type: string;
  protocol: string;
  streams: NgQueryStream[];
}

export interface NgQueryTag {
  tag: string;
  label: string | undefined;
  /** The tag this one exchanges media with (ng `in dialogue with`, or the offer/answer subscriber). */
  inDialogueWith: string | undefined;
  medias: NgQueryMedia[];
  /** Sums over this tag's RTP streams (RTCP excluded); `out` undefined when rtpengine does not report it. */
  rtp: { in: NgCounters; out: NgCounters | undefined };
}

export interface NgQueryResult {
  callId: string;
  /** Seconds since the epoch when rtpengine created the call. */
  created: number | undefined;
  /** Call legs by tag. */
  tags: Record<string, NgQueryTag>;
  /** Call-wide totals as rtpengine reports them (`totals.RTP`, `totals.RTCP`). */
  totals: { rtp: NgCounters; rtcp: NgCounters } | undefined;
  raw: Record<string, unknown>;
}
