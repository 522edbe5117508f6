/**
 * The typed AST of an instruction document (the TwiML voice dialect). Every
 * attribute has its default applied by the parser, so the executor never
 * re-reads strings. URLs are absolute (resolved against the document URL).
 */
export type HttpMethod = 'GET' | 'POST';

export interface Say {
  verb: 'Say';
  text: string;
  /** Dialect voice name ("man", "woman", "alice", "Polly.Joanna", …). Default "man". */
  voice: string;
  /** BCP 47 tag. Default "en-US". */
  language: string;
  /** Times to speak; the dialect's 0 ("forever") is capped at the parser's maxLoop. Default 1. */
  loop: number;
}

export interface Play {
  verb: 'Play';
  /** Audio URL; absent when the verb only sends `digits`. */
  url: string | undefined;
  /** DTMF to send instead of audio (0-9, *, #, w = half-second pause). */
  digits: string | undefined;
  /** Default 1; 0 is capped at maxLoop. */
  loop: number;
}

export interface Pause {
  verb: 'Pause';
  /** Seconds. Default 1. */
  length: number;
}

export type GatherChild = Say | Play | Pause;

export interface Gather {
  verb: 'Gather';
  /** Default ['dtmf']. */
  input: ('dtmf' | 'speech')[];
  /** Stop after this many digits; undefined = until finishOnKey or timeout. */
  numDigits: number | undefined;
  /** Seconds of silence after the last digit. Default 5. */
  timeout: number;
  /** Key that ends input; '' disables it. Default '#'. */
  finishOnKey: string;
  /** Default: the document URL (the dialect re-requests the current document). */
  action: string | undefined;
  /** Default POST. */
  method: HttpMethod;
  children: GatherChild[];
}

export interface Record {
  verb: 'Record';
  /** Seconds. Default 3600. */
  maxLength: number;
  /** Default "1234567890*#". */
  finishOnKey: string;
  action: string | undefined;
  method: HttpMethod;
  recordingStatusCallback: string | undefined;
  /** Default POST. */
  recordingStatusCallbackMethod: HttpMethod;
  /** Default true. */
  playBeep: boolean;
  /** Seconds of silence that end the recording; 0 = never. Default 5. */
  timeout: number;
}

export type DialRecord = 'do-not-record' | 'record-from-answer' | 'record-from-ringing' | 'record-from-answer-dual' | 'record-from-ringing-dual';

export type DialTarget =
  | { kind: 'number'; number: string; sendDigits: string | undefined; url: string | undefined; method: HttpMethod }
  | { kind: 'sip'; uri: string; username: string | undefined; password: string | undefined; url: string | undefined; method: HttpMethod }
  | { kind: 'queue'; name: string; url: string | undefined; method: HttpMethod }
  /**
   * A browser or app client: every live registration of `client:<identity>` in
   * the account rings (whatever region it is connected to). `parameters`
   * (`<Parameter name value>` children) travel to the client with the call.
   */
  | { kind: 'client'; identity: string; parameters: ClientParameter[]; url: string | undefined; method: HttpMethod };

/** A custom parameter handed to a dialed client (name 1-64 of A-Z a-z 0-9 _ . -, value up to 512 characters). */
export interface ClientParameter {
  name: string;
  value: string;
}

export interface Dial {
  verb: 'Dial';
  /** Ring time in seconds. Default 30. */
  timeout: number;
  callerId: string | undefined;
  action: string | undefined;
  method: HttpMethod;
  /** Default 'do-not-record'; the dialect's "true"/"false" map to record-from-answer / do-not-record. */
  record: DialRecord;
  /** Max call length in seconds. Default 14400. */
  timeLimit: number;
  targets: DialTarget[];
}

export interface Enqueue {
  verb: 'Enqueue';
  queue: string;
  waitUrl: string | undefined;
  /** Default POST. */
  waitUrlMethod: HttpMethod;
  action: string | undefined;
  method: HttpMethod;
}

export interface Leave {
  verb: 'Leave';
}

export interface Redirect {
  verb: 'Redirect';
  url: string;
  /** Default POST. */
  method: HttpMethod;
}

export interface Hangup {
  verb: 'Hangup';
}

export interface Reject {
  verb: 'Reject';
  /** Default 'rejected'. */
  reason: 'rejected' | 'busy';
}

export type Verb = Say | Play | Pause | Gather | Record | Dial | Enqueue | Leave | Redirect | Hangup | Reject;

export interface TwimlDocument {
  verbs: Verb[];
  /** The URL the document was fetched from (base of relative URLs), if known. */
  documentUrl: string | undefined;
  /** Unknown attributes that were ignored ("Say@foo"); empty for a clean document. */
  warnings: string[];
}
