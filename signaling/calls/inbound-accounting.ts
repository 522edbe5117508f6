/**
 * Inbound calls to a tenant's number: when the B2BUA ends a call whose dialed
 * number is an IncomingPhoneNumber, write its call record (direction
 * `inbound`, visible through the Calls API) and, if it was answered, its
 * `calls-inbound` minutes, then count it in the trackers its tags (the
 * number's and its application's) match. Calls to numbers no tenant owns are not accounted,
 * and an edge that forwarded the call to its home region leaves it to the home.
 * The price: the rate in force when the call was answered (`inboundRateCapture`,
 * kept in Redis until the end), each started minute.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../regions/core/log.js';
import { applicationKey, type ApplicationRecord } from '../../regions/store/applications.js';
import { CallRecordStore } from '../../regions/store/call-records.js';
import { findNumber } from '../../regions/store/numbers.js';
import { recordedPlacements } from '../../regions/store/placement-traces.js';
import { readJson } from '../../regions/store/records.js';
import { callTags } from '../../regions/store/tags.js';
import { recordTaggedMinutes } from '../../regions/store/tag-usage.js';
import { recordTrackedCall } from '../../regions/store/tracker-measurements.js';
import type { CallRecord, CallStatus } from '../../regions/store/call-records.js';
import { apiDate } from '../../regions/store/schema.js';
import { recordCallMinutes } from '../../regions/store/usage.js';
import { formatMicros } from '../../regions/pricing/money.js';
import { PriceDecks, priceAtRate } from '../../regions/pricing/store.js';
import type { AnsweredCall, EndedCall } from '../b2bua/b2bua.js';
import type { FindNumberRecord } from './number-records.js';

/** The caller-facing outcome of an ended call, in the API's statuses. */
export function inboundStatus(e: EndedCall): CallStatus {
  if (e.answeredAt !== undefined) return 'completed';
  if (e.reason === 'failed-486' || e.reason === 'failed-600') return 'busy';
  if (e.reason === 'failed-487') return 'canceled';
  if (e.reason === 'failed-408' || e.reason === 'failed-480') return 'no-answer';
  return 'failed';
}

/** When a call to a tenant's number anchored here is answered: capture the inbound rate in force now. */
export function inboundRateCapture(redis: Redis, prefix: string, region: string, log: Logger, find?: FindNumberRecord): (a: Pick<AnsweredCall, 'sid' | 'to'>) => void {
  const decks = new PriceDecks(redis, prefix);
  // Default a store read per answered call; the node passes its cached lookup (number-records.ts).
  const lookup = find ?? ((dialed: string) => findNumber(redis, prefix, dialed));
  return (a) => {
    void (async () => {
      const num = await lookup(a.to);
      // Not a tenant's number, or homed elsewhere (the home anchors and prices it).
      if (num === undefined || num.homeRegion !== region) return;
      await decks.captureCallRate(a.sid, await decks.callRate({ accountSid: num.accountSid, direction: 'inbound', from: '', to: a.to }));
    })().catch((err: unknown) => log.warn('inbound call rate not captured; the call will have no price', { sid: a.sid, error: err as Error }));
  };
}

/** `find`: the number lookup, e.g. the node's cached one (number-records.ts); default a store read per call. */
export function inboundAccounting(redis: Redis, prefix: string, region: string, nodeId: string, log: Logger, find?: FindNumberRecord): (e: EndedCall) => void {
  const records = new CallRecordStore(redis, prefix);
  const lookup = find ?? ((dialed: string) => findNumber(redis, prefix, dialed));
  const decks = new PriceDecks(redis, prefix);
  return (e) => {
    // A call forwarded to its home region is accounted for there, once.
    if (e.forwardedHome) return;
    void (async () => {
      const num = await lookup(e.to);
      if (num === undefined) return;
      const duration = e.answeredAt === undefined ? 0 : Math.round((e.endedAt - e.answeredAt) / 1000);
      const rate = await decks.takeCallRate(e.sid).catch(() => undefined);
      const priceMicros = e.answeredAt === undefined || rate === undefined ? undefined : priceAtRate(rate, duration);
      if (e.answeredAt !== undefined) {
        await recordCallMinutes(redis, prefix, { accountSid: num.accountSid, category: 'calls-inbound', region, durationS: duration, at: e.endedAt, priceMicros });
      }
      const placements = await recordedPlacements(redis, prefix, e.traceKey).catch(() => []);
      const app = num.applicationSid === undefined ? undefined : await readJson<ApplicationRecord>(redis, applicationKey(prefix, num.applicationSid)).catch(() => undefined);
      const tags = callTags(num.tags, app?.tags);
      const rec: CallRecord = {
        sid: e.sid,
        accountSid: num.accountSid,
        direction: 'inbound',
        from: e.from,
        to: e.to,
        status: inboundStatus(e),
        region,
        nodeId,
        dateCreated: apiDate(new Date(e.createdAt)),
        dateUpdated: apiDate(),
        ...(e.answeredAt !== undefined ? { startTime: apiDate(new Date(e.answeredAt)) } : {}),
        endTime: apiDate(new Date(e.endedAt)),
        duration,
        ...(priceMicros === undefined || rate === undefined ? {} : { price: formatMicros(-priceMicros), priceUnit: rate.priceUnit }),
        ...(num.applicationSid !== undefined ? { applicationSid: num.applicationSid } : {}),
        ...(placements.length > 0 ? { placements } : {}),
        ...(tags.length > 0 ? { tags } : {}),
        ...(e.postDialDelayMs !== undefined ? { postDialDelayMs: e.postDialDelayMs } : {}),
      };
      await records.save(rec);
      await recordTaggedMinutes(redis, prefix, rec, { category: 'calls-inbound', region, at: e.endedAt });
      await recordTrackedCall(redis, prefix, rec);
    })().catch((err: unknown) => log.warn('inbound call accounting failed', { sid: e.sid, error: err as Error }));
  };
}
