/**
 * What the B2BUA's parts share without importing each other: its options and
 * the reports it gives, and `B2buaCore`, the face of the B2BUA that the new-call
 * handler (new-call.ts), the in-dialog handler (in-dialog.ts) and re-anchoring
 * (reanchor.ts) work through. b2bua.ts implements it and builds those parts,
 * so the dependency points one way: b2bua.ts → parts → core.ts.
 */
import type { ClientCaller, ClientCalls } from '../clients/client-calls.js';
import type { NodeLatencyMetrics } from '../../regions/core/metrics.js';
import { MeshError, type ErrorCode } from '../../regions/core/errors.js';
import type { AppBinding, AppResolution } from '../calls/app-resolver.js';
import type { CallRegistry } from '../calls/registry.js';
import type { Dialog } from '../sip/dialog/index.js';
import type { Endpoint, SipRequest, SipResponse, SipTransportName } from '../sip/message/index.js';
import type { ServerTransaction } from '../sip/stack.js';
import type { AdmissionControl } from './admission.js';
import type { Call, ENDED_LEG, LegMatch, LegRole } from './call.js';
import type { ByeRetryOptions } from './bye-retry.js';
import type { CarrierAdmission } from './carrier-admission.js';
import type { MeshRouting } from './mesh.js';
import type { MediaNeed } from './media-port.js';

export interface ReanchorOptions {
  /** Longest wait for a party's final response to our re-INVITE. Default 4000 ms. */
  reinviteTimeoutMs?: number;
  /** Attempts of one re-INVITE when the party answers 491 (glare). Default 3. */
  maxGlareAttempts?: number;
  /** Calls re-anchored at once when a node dies. Default 64. */
  concurrency?: number;
  /** Longest wait for a relayed re-INVITE of the call to finish before re-anchoring it. Default 5000 ms. */
  pendingWaitMs?: number;
  /**
   * Wait this long after a node is reported down and re-check its health before
   * moving anything: one lost ping on a busy machine must not cost every call on
   * the node two re-INVITEs. Set it a little above the health-check interval. Default 0.
   */
  confirmMs?: number;
}

export interface B2buaOptions {
  region: string;
  nodeId: string;
  /** The node's one registry of calls (every kind): capacity (503 beyond `maxCalls`), counts, dispatch. */
  calls: CallRegistry;
  /** Retry-After seconds with a 503. */
  retryAfterSeconds: number;
  /** Timer C: ring time before the B leg is cancelled and A gets 408. */
  noAnswerTimeoutMs: number;
  /** Admission control of new INVITEs (503 + Retry-After past the limits); absent: none beyond `calls`' capacity. */
  admission?: AdmissionControl;
  /** Time a new call's media offers may take in all, trying the next node when one fails (offer-retry.ts). Default 2500 ms. */
  mediaOfferBudgetMs?: number;
  /** Re-anchoring of calls whose media node died. Defaults as ReanchorOptions'. */
  reanchor?: ReanchorOptions;
  /** Unanswered BYEs sent again (bye-retry.ts). Defaults: every 2 s after a failure, for 5 min, at most 10000 waiting. */
  byeRetry?: ByeRetryOptions;
  /** Home-region anchoring between regions (home from tenant data, static rules for carrier routes; `meshRouting`); absent: every call is local. */
  mesh?: MeshRouting;
  /** Numbers with an application: looked up for each call anchored here, answered by the platform when found. */
  inboundApps?: InboundApps;
  /**
   * Where an application call forwarded to its home keeps its media: `edge` (default) — this
   * edge passes the caller's SDP through untouched (`X-Mesh-Media-Node: passthrough`) and the
   * home places the application's leg on a media node of this region; `home` — this edge relays
   * on its own node and the home uses one of its own (the trombone, for comparison).
   */
  applicationMedia?: 'edge' | 'home';
  /** Told once when each call is answered (recording); a throwing hook is logged, never fatal. */
  onCallAnswered?: (answered: AnsweredCall) => void;
  /** Told once when each call ends (accounting, call records); a throwing hook is logged, never fatal. */
  onCallEnded?: (ended: EndedCall) => void;
  /**
   * INVITEs of browser/app clients (over WebSocket, or forwarded by a peer's edge with
   * `X-Mesh-Client`): authenticated and routed by signaling/clients/client-calls.ts; absent:
   * such INVITEs are treated as any other.
   */
  clientCalls?: Pick<ClientCalls, 'isClientInvite' | 'route'>;
  /** REGISTERs that came over WebSocket go to the client registrar (signaling/clients/registrar.ts); absent: 405 as any REGISTER. */
  onClientRegister?: (req: SipRequest, tx: ServerTransaction, source: Endpoint) => void;
  /**
   * Clients registered on this node (the registrar): a peer region's call for
   * one of them (`X-Mesh-Client`, clients/mesh-delivery.ts) is relayed over its
   * connection. Absent: such calls get 480.
   */
  clients?: { reachable(accountSid: string, identity: string, bindingId: string): { contact: string; endpoint: Endpoint } | undefined };
}

/** The call router's entry for inbound calls (signaling/calls/inbound-app.ts). */
export interface InboundApps {
  resolve(dialed: string): Promise<AppResolution>;
  /** Take the call; responds to the caller on every path. */
  accept(req: SipRequest, tx: ServerTransaction, source: Endpoint, dialed: string, binding: AppBinding, need?: MediaNeed, client?: ClientCaller): Promise<void>;
}

/** What an answered call reports to `onCallAnswered`. */
export interface AnsweredCall {
  sid: string;
  to: string;
  /** rtpengine call-id of the call's media session (the A leg's Call-ID). */
  callId: string;
  /** The caller's tag in that session. */
  callerTag: string;
  mediaNodeId: string;
}

/** What an ended call reports to `onCallEnded`. */
export interface EndedCall {
  sid: string;
  from: string;
  to: string;
  createdAt: number;
  answeredAt: number | undefined;
  endedAt: number;
  /** `failed-486`, `bye-from-a`, … */
  reason: string;
  /** This node only forwarded the call to its home region, which anchors (and accounts for) it. */
  forwardedHome: boolean;
  /** Key of the call's placement trace here (the first leg's SIP Call-ID). */
  traceKey: string;
  /** INVITE to the first ringing or the answer, ms; absent when neither came. */
  postDialDelayMs?: number;
}

export interface B2buaCounters {
  attempts: number;
  answered: number;
  completed: number;
  /** Final failures sent to the caller, by SIP status. */
  failures: Record<number, number>;
}

/** The in-dialog side's operations that setting up and moving calls use. */
export interface DialogOperations {
  /** ACK a 2xx on `role`'s leg (RFC 3261 §13.2.2.4). */
  sendAck(call: Call, role: LegRole, cseq: number): void;
  sendBye(call: Call, role: LegRole): void;
  /** End the call for `reason`, sending BYE to the legs listed. */
  hangup(call: Call, reason: string, byeTo: LegRole[]): void;
  /** The dialog of `role`'s leg, once it has one. */
  dialogOf(call: Call, role: LegRole): Dialog | undefined;
  /** Where requests on `role`'s leg go. */
  destOf(call: Call, role: LegRole): Endpoint;
}

/** The B2BUA as its parts see it (b2bua.ts). */
export interface B2buaCore {
  readonly counters: B2buaCounters;
  /** The node's latency histograms (INVITE→200 is observed when the 200 goes to the caller). */
  readonly latency: Pick<NodeLatencyMetrics, 'observeInviteAnswer'>;
  /** Live calls by CallSid. */
  readonly calls: ReadonlyMap<string, Call>;
  readonly dialogs: DialogOperations;
  /** True once close() began: new INVITEs are refused. */
  readonly isClosed: boolean;
  /** Our Contact on the transport a leg uses. */
  contact(transport: SipTransportName): string;
  /** Carrier admission of a new INVITE from `sourceAddress` for `dialed`. */
  admit(sourceAddress: string, dialed: string): ReturnType<CarrierAdmission['admit']>;
  countFailure(status: number): void;
  /** End an unanswered call: a catalogue entry, or a status relayed from the callee. */
  failCall(call: Call, answer: ErrorCode | { status: number; reason: string; headers?: [string, string][] }): void;
  onCallError(call: Call, e: unknown): void;
  onHandlerError(e: unknown, req: SipRequest, tx: ServerTransaction): void;
  finish(call: Call, reason: string): void;
  persist(call: Call, endReason?: string): void;
  registerCall(call: Call): void;
  /** The live or ended leg of (callId, ourTag); an answered call that ended says only ENDED_LEG. */
  findLeg(callId: string, ourTag: string): LegMatch | typeof ENDED_LEG | undefined;
}

/** The leg on the other side. */
export function otherLeg(role: LegRole): LegRole {
  return role === 'a' ? 'b' : 'a';
}

/** Respond, ignoring a transaction that is already gone (e.g. terminated by a CANCEL race). */
export function safeRespond(tx: ServerTransaction, res: SipResponse): void {
  try {
    tx.respond(res);
  } catch (e) {
    if (!(e instanceof MeshError)) throw e;
  }
}
