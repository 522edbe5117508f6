/**
 * Types shared by the router's verb executors: the dependencies a call runs
 * with, its limits (each with its default), and what a verb tells the run
 * loop when it is done.
 */
import type { Logger } from '../../../regions/core/log.js';
import type { WebhookOptions, WebhookResult } from '../../webhooks/http.js';
import type { Params } from '../../webhooks/signature.js';
import type { FetchedInstructions, FetchInstructionsOptions } from '../fetch.js';
import type { HostBreakers } from '../host-breakers.js';
import type { CallQueues, LegDialer, RecordingSink } from '../leg.js';
import type { TwimlOptions } from '../twiml.js';
import type { HttpMethod } from '../twiml-types.js';

/** An audio file ready for `CallLeg.play` (8 kHz WAV). */
export interface MediaFile {
  path: string;
  durationMs: number;
}

/** The media cache as the router sees it (text-to-speech, URL fetch + transcode, the record beep). */
export interface RouterMedia {
  speech(text: string, voice: string, language: string): Promise<MediaFile>;
  url(url: string): Promise<MediaFile>;
  beep(): Promise<MediaFile>;
}

export interface RouterLimits {
  /** Calls run at once by one router; beyond it a new call is refused (busy). Default 10000. */
  maxActiveCalls?: number;
  /** Instruction documents fetched for one call, wait-application passes included. Default 10000. */
  maxDocumentsPerCall?: number;
  /** Redirects (Redirect verbs, action URLs, wait-app passes) in one chain without progress. Default 10. */
  maxRedirectChain?: number;
  /** Redirects over one call. Default 1000. */
  maxRedirectsPerCall?: number;
  /** Parser limits for every document (maxBytes, maxVerbs, maxLoop, …); defaults of twiml.ts. */
  twiml?: Omit<TwimlOptions, 'documentUrl'>;
  /** How often Dial → Queue re-checks an empty queue (a local Enqueue wakes it at once). Default 1000 ms. */
  queuePollMs?: number;
  /** Extra time a dialer gets beyond the Dial `timeout` before the attempt is cancelled. Default 5000 ms. */
  dialGraceMs?: number;
  /** Timeout of action-less callbacks (recordingStatusCallback, error reports). Default 5000 ms. */
  callbackTimeoutMs?: number;
}

export interface ResolvedLimits {
  maxActiveCalls: number;
  maxDocumentsPerCall: number;
  maxRedirectChain: number;
  maxRedirectsPerCall: number;
  twiml: Omit<TwimlOptions, 'documentUrl'> | undefined;
  queuePollMs: number;
  dialGraceMs: number;
  callbackTimeoutMs: number;
}

export function resolveLimits(l: RouterLimits = {}): ResolvedLimits {
  return {
    maxActiveCalls: l.maxActiveCalls ?? 10_000,
    maxDocumentsPerCall: l.maxDocumentsPerCall ?? 10_000,
    maxRedirectChain: l.maxRedirectChain ?? 10,
    maxRedirectsPerCall: l.maxRedirectsPerCall ?? 1000,
    twiml: l.twiml,
    queuePollMs: l.queuePollMs ?? 1000,
    dialGraceMs: l.dialGraceMs ?? 5000,
    callbackTimeoutMs: l.callbackTimeoutMs ?? 5000,
  };
}

/** What every verb executor needs besides the call itself. */
export interface VerbDeps {
  media: RouterMedia;
  dialer: LegDialer;
  queues: CallQueues;
  recordings: RecordingSink;
  fetchDocument: (o: FetchInstructionsOptions) => Promise<FetchedInstructions>;
  webhook: (o: WebhookOptions) => Promise<WebhookResult>;
  breakers: HostBreakers;
  limits: ResolvedLimits;
  log: Logger;
}

/** An error the router reports (status callback `ErrorCode`/`ErrorUrl`/`ErrorMessage`). */
export interface RouterFailure {
  code: number;
  message: string;
  url: string;
}

/** Where the run loop goes after a verb. */
export type Outcome =
  /** Go on with the next verb of the document. */
  | { kind: 'next' }
  /**
   * Fetch a new document and run it (Redirect, action URLs). When the leg has
   * ended meanwhile the request is still made (the dialect reports Dial,
   * Record and Enqueue outcomes even after a hang-up) but its document is not run.
   */
  | { kind: 'goto'; url: string; method: HttpMethod; params: Params }
  /** The document hung up (Hangup, or a wait application's Hangup). */
  | { kind: 'hangup' }
  /** Reject ran. */
  | { kind: 'rejected' }
  /** The step was aborted (leg ended, API redirect, router closing): the loop looks at why. */
  | { kind: 'aborted' }
  /** An application error: spoken error, hang-up, report. */
  | { kind: 'fail'; failure: RouterFailure };

/** Dialect codes the executor reports besides the fetch codes of errors.ts. */
export const EXEC_ERRORS = {
  /** A Play URL could not be fetched or transcoded (reported like an HTTP retrieval failure). */
  MEDIA_RETRIEVAL_FAILURE: 11200,
  /** Redirect chain too long or looping (the dialect's "too many redirects"). */
  TOO_MANY_REDIRECTS: 11215,
  /** A verb not allowed where it appears (e.g. Dial inside a wait application). */
  SCHEMA_VALIDATION: 12200,
  /** Anything on the platform side: speech synthesis, the media engine, a store. */
  INTERNAL_FAILURE: 12400,
} as const;
