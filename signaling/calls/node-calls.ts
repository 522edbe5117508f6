/**
 * What a signaling node does with its calls as a whole, per kind, on the one
 * registry (registry.ts). This is where to look for:
 *
 * - "a media node died": B2BUA calls are re-anchored on another node of the
 *   region (b2bua/reanchor.ts); the platform's own calls (applications, API
 *   and Dial legs) have no second copy of their media, so they are ended, once
 *   the death is confirmed one health interval later (a single lost ping moves
 *   nothing);
 * - the region's commands (command-consumer.ts): originate, hangup, redirect.
 */
import type { Logger } from '../../regions/core/log.js';
import type { CallCommand } from '../../regions/store/schema.js';
import type { B2bua } from '../b2bua/b2bua.js';
import type { HttpMethod } from '../router/twiml-types.js';
import type { InboundAppCalls } from './inbound-app.js';
import type { Originator } from './originator.js';
import type { CallRegistry } from './registry.js';

export interface NodeCallOwners {
  b2bua: B2bua;
  inbound: InboundAppCalls;
  originator: Originator;
  /** The call router: runs a new document on a call that runs one. */
  router: { redirect(callSid: string, url: string, method: HttpMethod): boolean };
  /** Whether a media node of this region answers its health pings now. */
  isMediaHealthy(nodeId: string): boolean;
  /** How long after a death report the platform's calls are ended if the node is still dead. */
  confirmMs: number;
  log: Logger;
}

function later(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Registers the owner of each call kind with the node's registry. */
export function ownNodeCalls(calls: CallRegistry, o: NodeCallOwners): void {
  calls.setOwner('b2bua', {
    // Calls the B2BUA relays belong to their carriers: the API neither hangs them up nor redirects them.
    hangup: async () => false,
    redirect: async () => false,
    onMediaNodeDown: async (nodeId) => {
      const results = await o.b2bua.reanchorer.onNodeDown(nodeId);
      if (results.length > 0) {
        const moved = results.filter((r) => r.outcome === 'moved').length;
        o.log.warn('re-anchor done', { nodeId, calls: results.length, moved, ended: results.filter((r) => r.outcome === 'ended').length });
      }
      return results.length;
    },
  });
  const endConfirmed = async (nodeId: string, end: (nodeId: string) => Promise<number>): Promise<number> => {
    await later(o.confirmMs);
    if (o.isMediaHealthy(nodeId)) return 0;
    const n = await end(nodeId);
    if (n > 0) o.log.warn('platform calls ended: their media node died', { nodeId, calls: n });
    return n;
  };
  calls.setOwner('inbound-app', {
    hangup: (sid) => o.inbound.hangupCall(sid),
    redirect: async (sid, url, method) => o.router.redirect(sid, url, method),
    onMediaNodeDown: (nodeId) => endConfirmed(nodeId, (id) => o.inbound.endCallsOnNode(id)),
  });
  calls.setOwner('originated', {
    hangup: async (sid) => {
      await o.originator.hangup(sid);
      return true;
    },
    redirect: async (sid, url, method) => {
      if (o.router.redirect(sid, url, method)) return true;
      await o.originator.redirect(sid, url, method);
      return true;
    },
    onMediaNodeDown: (nodeId) => endConfirmed(nodeId, (id) => o.originator.endCallsOnNode(id)),
  });
}

/** A media node was reported dead: every kind's owner acts on its calls; failures are logged, never thrown. */
export async function mediaNodeDown(calls: CallRegistry, nodeId: string, log: Logger): Promise<void> {
  const { errors } = await calls.onMediaNodeDown(nodeId);
  for (const { kind, error } of errors) log.warn('handling a dead media node failed', { nodeId, kind, error: error as Error });
}

/**
 * One command from the region's stream. Hangup and redirect go to the owner of
 * the live call; a call not live here (still queued, or placed by no one yet)
 * is left to the originator, which owns API calls before they are placed.
 */
export async function runCallCommand(cmd: CallCommand, calls: CallRegistry, originator: Originator): Promise<void> {
  if (cmd.type === 'originate') return originator.originate(cmd.callSid);
  if (cmd.type === 'hangup') {
    if (!(await calls.hangup(cmd.callSid))) await originator.hangup(cmd.callSid);
    return;
  }
  if (!(await calls.redirect(cmd.callSid, cmd.url, cmd.method))) await originator.redirect(cmd.callSid, cmd.url, cmd.method);
}
