/**
 * Inbound calls to a tenant's number: when the B2BUA ends a call whose dialed
 * number is an IncomingPhoneNumber, write its call record (direction
 * `inbound`, visible through the Calls API) and, if it was answered, its
 * `calls-inbound` minutes. Calls to numbers no tenant owns are not accounted,
 * and an edge that forwarded the call to its home region leaves it to the home.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../regions/core/log.js';
import { CallRecordStore } from '../../regions/store/call-records.js';
import { findNumber } from '../../regions/store/numbers.js';
import type { CallStatus } from '../../regions/store/call-records.js';
import { apiDate } from '../../regions/store/schema.js';
import { recordCallMinutes } from '../../regions/store/usage.js';
import type { EndedCall } from '../b2bua/b2bua.js';
import type { FindNumberRecord } from './number-records.js';

/** The caller-facing outcome of an ended call, in the API's statuses. */
export function inboundStatus(e: EndedCall): CallStatus {
  if (e.answeredAt !== undefined) return 'completed';
  if (e.reason === 'failed-486' || e.reason === 'failed-600') return 'busy';
  if (e.reason === 'failed-487') return 'canceled';
  if (e.reason === 'failed-408' || e.reason === 'failed-480') return 'no-answer';
  return 'failed';
}

/** `find`: the number lookup, e.g. the node's cached one (number-records.ts); default a store read per call. */
export function inboundAccounting(redis: Redis, prefix: string, region: string, nodeId: string, log: Logger, find?: FindNumberRecord): (e: EndedCall) => void {
  const records = new CallRecordStore(redis, prefix);
  const lookup = find ?? ((dialed: string) => findNumber(redis, prefix, dialed));
  return (e) => {
    // A call forwarded to its home region is accounted for there, once.
    if (e.forwardedHome) return;
    void (async () => {
      const num = await lookup(e.to);
      if (num === undefined) return;
      const duration = e.answeredAt === undefined ? 0 : Math.round((e.endedAt - e.answeredAt) / 1000);
      if (e.answeredAt !== undefined) {
        await recordCallMinutes(redis, prefix, { accountSid: num.accountSid, category: 'calls-inbound', region, durationS: duration, at: e.endedAt });
      }
      await records.save({
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
        ...(num.applicationSid !== undefined ? { applicationSid: num.applicationSid } : {}),
      });
    })().catch((err: unknown) => log.warn('inbound call accounting failed', { sid: e.sid, error: err as Error }));
  };
}
