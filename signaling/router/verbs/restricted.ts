/**
 * Documents with a restricted verb set: a queue's wait application
 * (Say/Play/Pause/Redirect/Leave/Hangup), the announcement a dequeued caller
 * hears (`<Queue url>`: Say/Play/Pause/Redirect) and the whisper a dialed
 * party hears (`<Number url>`/`<Sip url>`: Say/Play/Pause/Redirect/Hangup).
 * A document with any other verb is a document error (checked before any
 * verb runs); a Redirect replaces the document, bounded like any redirect.
 */
import type { Params } from '../../webhooks/signature.js';
import type { HttpMethod, TwimlDocument, Verb } from '../twiml-types.js';
import type { CallContext } from './context.js';
import { runPause, runPlay, runSay } from './media.js';
import { EXEC_ERRORS, type RouterFailure } from './types.js';

export type RestrictedEnd =
  | { kind: 'done' }
  | { kind: 'leave' }
  | { kind: 'hangup' }
  | { kind: 'aborted' }
  | { kind: 'fail'; failure: RouterFailure };

export const WAIT_VERBS: ReadonlySet<Verb['verb']> = new Set(['Say', 'Play', 'Pause', 'Redirect', 'Leave', 'Hangup']);
export const ANNOUNCE_VERBS: ReadonlySet<Verb['verb']> = new Set(['Say', 'Play', 'Pause', 'Redirect']);
export const WHISPER_VERBS: ReadonlySet<Verb['verb']> = new Set(['Say', 'Play', 'Pause', 'Redirect', 'Hangup']);

export async function runRestricted(
  ctx: CallContext,
  doc: TwimlDocument,
  allowed: ReadonlySet<Verb['verb']>,
  what: string,
  signal: AbortSignal,
  /** Parameters of a request a Redirect makes (fresh each time: queue position changes). */
  redirectParams: () => Promise<Params>,
): Promise<RestrictedEnd> {
  let current = doc;
  for (;;) {
    const bad = current.verbs.find((v) => !allowed.has(v.verb));
    if (bad !== undefined) {
      return {
        kind: 'fail',
        failure: { code: EXEC_ERRORS.SCHEMA_VALIDATION, message: `<${bad.verb}> is not allowed in ${what}`, url: current.documentUrl ?? '' },
      };
    }
    let redirect: { url: string; method: HttpMethod } | undefined;
    for (const v of current.verbs) {
      if (signal.aborted) return { kind: 'aborted' };
      ctx.counters.verbs += 1;
      if (v.verb === 'Say') await runSay(ctx, v, signal);
      else if (v.verb === 'Play') await runPlay(ctx, v, signal);
      else if (v.verb === 'Pause') await runPause(ctx, v, signal);
      else if (v.verb === 'Leave') return { kind: 'leave' };
      else if (v.verb === 'Hangup') return { kind: 'hangup' };
      else if (v.verb === 'Redirect') {
        redirect = { url: v.url, method: v.method };
        break;
      }
    }
    if (signal.aborted) return { kind: 'aborted' };
    if (redirect === undefined) return { kind: 'done' };
    const loop = ctx.followRedirect(redirect.url, redirect.method);
    if (loop !== undefined) return { kind: 'fail', failure: loop };
    const r = await ctx.fetch(redirect.url, redirect.method, await redirectParams(), signal);
    if (!r.ok) return 'aborted' in r ? { kind: 'aborted' } : { kind: 'fail', failure: r.failure };
    current = r.document;
  }
}
