/**
 * Resource SIDs as the 2010-04-01 API shapes them: two-letter prefix + 32 hex
 * digits. Here (not in the control plane) because the call side creates
 * resources too: queues on `Enqueue`, recordings on `Record`.
 */
import { randomString } from '../core/random-pool.js';

/** Resource kinds: account, application, number, call, recording, queue, API key, authorization, carrier, tracker (TK), price override (PO). */
export type SidPrefix = 'AC' | 'AP' | 'PN' | 'CA' | 'RE' | 'QU' | 'SK' | 'CN' | 'CR' | 'TK' | 'PO';

export function newSid(prefix: SidPrefix): string {
  return prefix + randomString(16, 'hex');
}

const SID_BODY = /^[0-9a-f]{32}$/;

/**
 * Whether `value` is a SID of that kind (prefix + 32 lowercase hex). Every SID
 * from outside is checked with this before it becomes part of a store key: a
 * SID such as `AC…:usage` would otherwise name another record's key.
 */
export function isSid(value: string, prefix: SidPrefix): boolean {
  return value.length === 34 && value.startsWith(prefix) && SID_BODY.test(value.slice(2));
}
