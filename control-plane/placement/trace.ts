/**
 * Placement trace (DESIGN.md step 7): every decision of a call with its
 * reasons, a timestamp and a summary of what was asked. Bounded twice — a
 * call keeps its latest `maxEntriesPerCall` entries (and counts what it
 * dropped), the recorder keeps at most `maxCalls` calls (oldest first out) —
 * and plain JSON throughout, so the lead can push entries to a Redis list and
 * serve them at /v1/calls/{sid}/placements.
 */
import { MeshError } from '../../regions/core/errors.js';
import type { MediaCapability, PlacementDecision, PlacementInput } from '../../regions/placement/types.js';

/** What a decision was asked, without the node list (which can be thousands long). */
export interface PlacementInputSummary {
  readonly mediaRegion: string;
  readonly homeRegion: string;
  readonly capability: MediaCapability;
  readonly centralServices: readonly MediaCapability[];
  readonly nodesTotal: number;
  readonly nodesHealthy: number;
}

/**
 * Where the chosen resource is, as the trace says it: on a node where the
 * media is (`local`), in another region (`remote`), or a local relay with a
 * branch to the home region's central service (`central`).
 */
export type PlacementKind = 'local' | 'remote' | 'central' | 'unavailable';

export function placementKind(d: PlacementDecision): PlacementKind {
  return d.outcome === 'local-with-branch' ? 'central' : d.outcome;
}

/**
 * One decision. `input` says what was asked (media region, home region,
 * capability); `decision.score` the candidates considered (`chosen` and
 * `runnersUp`) and the nodes set aside with the reason (`rejected`).
 */
export interface PlacementTraceEntry {
  /** 1, 2, 3 … per call; never reused, so a gap shows dropped entries. */
  readonly seq: number;
  /** ISO 8601 time of the decision. */
  readonly at: string;
  readonly atMs: number;
  readonly input: PlacementInputSummary;
  readonly kind: PlacementKind;
  /** The chosen node and its region; null when nothing could serve. */
  readonly chosen: { readonly nodeId: string; readonly region: string } | null;
  readonly decision: PlacementDecision;
}

export interface CallPlacementTrace {
  readonly callSid: string;
  /** Entries dropped because the call exceeded `maxEntriesPerCall`. */
  readonly dropped: number;
  readonly entries: readonly PlacementTraceEntry[];
}

export interface PlacementTraceOptions {
  /** Entries kept per call; beyond it the oldest entry is dropped. Default 32. */
  readonly maxEntriesPerCall?: number;
  /** Calls kept; recording a new call beyond it forgets the oldest. Default 10000. */
  readonly maxCalls?: number;
  /** Clock in ms since the epoch. Default Date.now (fake timers drive it in tests). */
  readonly now?: () => number;
}

export const DEFAULT_MAX_ENTRIES_PER_CALL = 32;
export const DEFAULT_MAX_TRACED_CALLS = 10_000;

export function summarisePlacementInput(input: PlacementInput): PlacementInputSummary {
  let healthy = 0;
  for (const n of input.nodes) if (n.healthy) healthy++;
  return {
    mediaRegion: input.mediaRegion,
    homeRegion: input.homeRegion,
    capability: input.capability,
    centralServices: [...input.centralServices],
    nodesTotal: input.nodes.length,
    nodesHealthy: healthy,
  };
}

/** One trace entry, built without a recorder (e.g. straight into Redis). */
export function placementTraceEntry(
  seq: number,
  atMs: number,
  input: PlacementInput,
  decision: PlacementDecision,
): PlacementTraceEntry {
  return {
    seq,
    at: new Date(atMs).toISOString(),
    atMs,
    input: summarisePlacementInput(input),
    kind: placementKind(decision),
    chosen: decision.outcome === 'unavailable' ? null : { nodeId: decision.nodeId, region: decision.region },
    decision,
  };
}

interface CallState {
  nextSeq: number;
  dropped: number;
  entries: PlacementTraceEntry[];
}

function positiveInt(v: number | undefined, dflt: number, name: string): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < 1) throw new MeshError('BAD_REQUEST', `PlacementTrace ${name} must be an integer ≥ 1`);
  return v;
}

export class PlacementTrace {
  readonly maxEntriesPerCall: number;
  readonly maxCalls: number;
  readonly #now: () => number;
  readonly #calls = new Map<string, CallState>();

  constructor(opts: PlacementTraceOptions = {}) {
    this.maxEntriesPerCall = positiveInt(opts.maxEntriesPerCall, DEFAULT_MAX_ENTRIES_PER_CALL, 'maxEntriesPerCall');
    this.maxCalls = positiveInt(opts.maxCalls, DEFAULT_MAX_TRACED_CALLS, 'maxCalls');
    this.#now = opts.now ?? Date.now;
  }

  /** Append a decision to the call's trace; returns the stored entry. */
  record(callSid: string, input: PlacementInput, decision: PlacementDecision): PlacementTraceEntry {
    let state = this.#calls.get(callSid);
    if (state === undefined) {
      if (this.#calls.size >= this.maxCalls) {
        const oldest = this.#calls.keys().next().value;
        if (oldest !== undefined) this.#calls.delete(oldest);
      }
      state = { nextSeq: 1, dropped: 0, entries: [] };
      this.#calls.set(callSid, state);
    }
    const entry = placementTraceEntry(state.nextSeq++, this.#now(), input, decision);
    state.entries.push(entry);
    if (state.entries.length > this.maxEntriesPerCall) {
      state.entries.shift();
      state.dropped++;
    }
    return entry;
  }

  /** The call's trace, oldest entry first; undefined when nothing was recorded (or it was forgotten). */
  get(callSid: string): CallPlacementTrace | undefined {
    const s = this.#calls.get(callSid);
    return s === undefined ? undefined : { callSid, dropped: s.dropped, entries: [...s.entries] };
  }

  /** Drop a call's trace (e.g. once persisted with the call record). */
  forget(callSid: string): boolean {
    return this.#calls.delete(callSid);
  }

  get size(): number {
    return this.#calls.size;
  }

  /** Every traced call, oldest call first; `JSON.stringify(trace)` uses it. */
  toJSON(): CallPlacementTrace[] {
    return [...this.#calls.keys()].map((sid) => this.get(sid) as CallPlacementTrace);
  }
}
