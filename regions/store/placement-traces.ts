/**
 * Placement traces in Redis: every placement decision of a call, in order, for
 * the operator API (`/v1/calls/{sid}/placements`) and the call record. One
 * list per call, kept a day. The signaling node appends; the control plane reads.
 */
import type { Redis } from 'ioredis';
import { keys } from './keys.js';
import { writeCommands, type RedisWriter } from './write-batcher.js';

/** How long a call's trace is kept, seconds. */
export const PLACEMENT_TRACE_TTL_S = 86_400;
/** Most entries read back for one call. */
export const MAX_TRACE_ENTRIES = 100;
/** Most decisions copied into a call record when the call ends (the first ones: a call's placements are few). */
export const MAX_RECORDED_PLACEMENTS = 16;

/** A decision as the call record keeps it: what the API renders (sequence, time, the decision with its reasons and candidates). */
export interface RecordedPlacement {
  readonly seq: number;
  readonly atMs: number;
  readonly decision: unknown;
}

/**
 * Append one decision to the trace of `callKey` (a CallSid, or the SIP Call-ID
 * of a B2BUA call's first leg). A signaling node passes its WriteBatcher: this
 * runs for every new call, and rides in the batch with the call-state saves.
 */
export async function appendPlacementTrace(writer: RedisWriter, prefix: string, callKey: string, entry: unknown): Promise<void> {
  const k = keys(prefix).placements(callKey);
  const json = JSON.stringify(entry);
  await writeCommands(writer, (c) => {
    c.rpush(k, json);
    c.expire(k, PLACEMENT_TRACE_TTL_S);
  }, `placement trace ${callKey}`);
}

/**
 * Record that the call `callSid` is traced under `callKey` (the SIP Call-ID of
 * its first leg), kept as long as a trace: the live-call record that also
 * says so expires an hour after the call ends, the trace a day after.
 */
export async function aliasPlacementTrace(writer: RedisWriter, prefix: string, callSid: string, callKey: string): Promise<void> {
  if (callSid === callKey) return;
  const k = keys(prefix).placementsAlias(callSid);
  await writeCommands(writer, (c) => c.set(k, callKey, 'EX', PLACEMENT_TRACE_TTL_S), `placement alias ${callSid}`);
}

/**
 * A call's placement decisions. API-originated calls are traced under their
 * CallSid; calls anchored by the B2BUA under the SIP Call-ID of their first
 * leg, found through the live-call record while it lasts, then through the
 * alias written when the call ended (`aliasPlacementTrace`).
 */
export async function readPlacementTrace(redis: Redis, prefix: string, callSid: string): Promise<unknown[] | undefined> {
  const k = keys(prefix);
  let raw = await redis.lrange(k.placements(callSid), 0, MAX_TRACE_ENTRIES - 1);
  if (raw.length === 0) {
    const [live, alias] = await Promise.all([redis.get(k.liveCall(callSid)), redis.get(k.placementsAlias(callSid))]);
    const aCallId = liveCallFirstLeg(live) ?? alias ?? undefined;
    if (aCallId !== undefined) raw = await redis.lrange(k.placements(aCallId), 0, MAX_TRACE_ENTRIES - 1);
  }
  if (raw.length === 0) return undefined;
  return raw.flatMap((r) => {
    try {
      return [JSON.parse(r) as unknown];
    } catch {
      return []; // a hand-edited entry is left out, never a 500
    }
  });
}

function liveCallFirstLeg(stored: string | null): string | undefined {
  if (stored === null) return undefined;
  try {
    const aCallId = (JSON.parse(stored) as { aCallId?: unknown }).aCallId;
    return typeof aCallId === 'string' ? aCallId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The decisions traced under `callKey` (a CallSid, or the SIP Call-ID the
 * media was placed under), as the call record keeps them when the call ends:
 * at most MAX_RECORDED_PLACEMENTS, without the input summary the decision
 * repeats. Empty when nothing was traced; malformed entries are left out.
 */
export async function recordedPlacements(redis: Redis, prefix: string, callKey: string): Promise<RecordedPlacement[]> {
  const raw = await redis.lrange(keys(prefix).placements(callKey), 0, MAX_RECORDED_PLACEMENTS - 1);
  return raw.flatMap((r) => {
    try {
      const e = JSON.parse(r) as { seq?: unknown; atMs?: unknown; decision?: unknown };
      return typeof e.seq === 'number' && typeof e.atMs === 'number' && typeof e.decision === 'object' && e.decision !== null ? [{ seq: e.seq, atMs: e.atMs, decision: e.decision }] : [];
    } catch {
      return [];
    }
  });
}
