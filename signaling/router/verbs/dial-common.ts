/** What Dial (to numbers/SIP, and to a queue) shares: its statuses and where the call goes after it. */
import type { Params } from '../../webhooks/signature.js';
import type { CallLeg } from '../leg.js';
import type { Dial } from '../twiml-types.js';
import { reasonOf } from './abort.js';
import type { CallContext } from './context.js';
import type { Outcome } from './types.js';

export type DialCallStatus = 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled';

/**
 * After a Dial: its action (requested even after the caller hung up, as a
 * notification whose document is not run), else the next verb. An API
 * redirect skips the action: the call goes where it was sent.
 */
export function afterDial(ctx: CallContext, v: Dial, params: Params, signal: AbortSignal): Outcome {
  if (reasonOf(signal) === 'redirect') return { kind: 'aborted' };
  if (v.action !== undefined) return { kind: 'goto', url: v.action, method: v.method, params };
  return ctx.ended ? { kind: 'aborted' } : { kind: 'next' };
}

export async function hangupQuietly(leg: CallLeg): Promise<void> {
  try {
    await leg.hangup();
  } catch {
    // Already gone or unreachable: nothing more to do for a leg we are leaving.
  }
}
