/**
 * Applications: where a tenant's instruction documents come from. The control
 * plane writes them (Applications API); the call side reads them to run a
 * call. One definition of the record and its key for both.
 */
import { keys } from './keys.js';

export type AppHttpMethod = 'GET' | 'POST';

export interface ApplicationRecord {
  sid: string; // AP + 32 hex
  accountSid: string;
  friendlyName: string;
  voiceUrl?: string;
  voiceMethod: AppHttpMethod;
  voiceFallbackUrl?: string;
  voiceFallbackMethod: AppHttpMethod;
  statusCallback?: string;
  statusCallbackMethod: AppHttpMethod;
  /** Seconds to wait for each instruction document before the fallback is used (1..15). Default 5 when absent. */
  voiceTimeout?: number;
  /** Tags (tags.ts, ≤ 10): every call through this application carries them. */
  tags?: string[];
  dateCreated: string;
  dateUpdated: string;
}

export const applicationKey = (prefix: string, sid: string): string => keys(prefix).application(sid);
