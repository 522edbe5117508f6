/**
 * Home-region anchoring between signaling nodes (DESIGN.md "one call, end to
 * end", steps 2–4). An edge node that receives a call for a tenant homed in
 * another region anchors the media on its own media node and forwards the
 * call over SIP to the home region's signaling node, with mesh headers naming
 * the edge region and the call. The home node, seeing those headers from a
 * trusted peer, anchors the dialog but leaves the media where it is: the SDP
 * already points at the edge's media node, so it passes through untouched.
 *
 * Where a number is homed comes from tenant data first (the number's
 * IncomingPhoneNumber record, `calls/number-homes.ts`); the static prefix rules
 * (`mesh.homeRules`) decide only for numbers no tenant owns (carrier routes),
 * and while the store cannot be read.
 */
import { NumberPrefixRules } from '../../regions/catalog/home-region.js';
import type { NumberHomeLookup } from '../calls/number-homes.js';
import type { MediaPort } from './media-port.js';

/** Mesh header: region where the call entered the platform (and where its media is). */
export const EDGE_REGION_HEADER = 'X-Mesh-Edge-Region';
/** Mesh header: the call's identity at the edge (its CallSid there). */
export const CALL_SID_HEADER = 'X-Mesh-Call-Sid';
/** Mesh header: the media node at the edge that anchors the call's RTP. */
export const MEDIA_NODE_HEADER = 'X-Mesh-Media-Node';

/** A node's static view of the mesh: its peers, and the prefix rules for numbers no tenant owns. */
export interface StaticMeshRouting {
  /** This node's region. */
  readonly region: string;
  /** Home region by the static prefix rules (carrier routes), or undefined when no rule matches. */
  homeRegionOf(dialed: string): string | undefined;
  /** SIP URI of a region's signaling node (e.g. `sip:127.0.1.1:5060`), or undefined if unknown. */
  signalingUri(region: string): string | undefined;
  /** Region of the peer signaling node at this source address, or undefined when it is not one. */
  peerRegionOf(address: string): string | undefined;
}

/** What the B2BUA asks (new-call.ts): the static view, with the home region decided from tenant data first. */
export interface MeshRouting extends Omit<StaticMeshRouting, 'homeRegionOf'> {
  /**
   * Home region of a dialed number: its tenant's (the number's record), else
   * the static rules', else undefined (then it is local). Never rejects.
   */
  homeRegionOf(dialed: string): Promise<string | undefined>;
  /** Whether a tenant's number runs an application (the platform answers it at home). Never rejects; false when unknown. */
  runsApplication(dialed: string): Promise<boolean>;
}

/** A node's static view of the mesh: the other regions' signaling nodes and the dialed-prefix → home-region rules. */
export interface StaticMeshConfig {
  region: string;
  peers: readonly { region: string; address: string; port: number; transport?: 'UDP' | 'TCP' }[];
  homeRules: readonly { prefix: string; region: string }[];
}

/** The static view from configuration (`mesh.peers`, `mesh.homeRules`; longest prefix wins). */
export function staticMeshRouting(c: StaticMeshConfig): StaticMeshRouting {
  const rules = new NumberPrefixRules(c.homeRules);
  return {
    region: c.region,
    homeRegionOf: (dialed) => rules.lookup(dialed)?.region,
    signalingUri: (region) => {
      const p = c.peers.find((x) => x.region === region);
      return p === undefined ? undefined : `sip:${p.address}:${p.port}${p.transport === 'TCP' ? ';transport=tcp' : ''}`;
    },
    peerRegionOf: (address) => c.peers.find((p) => p.address === address)?.region,
  };
}

/**
 * MeshRouting that asks tenant data first and the static rules only for
 * numbers no tenant owns; without `tenants`, the static rules alone.
 */
export function meshRouting(fixed: StaticMeshRouting, tenants?: NumberHomeLookup): MeshRouting {
  return {
    region: fixed.region,
    homeRegionOf: async (dialed) => (await tenants?.homeOf(dialed))?.homeRegion ?? fixed.homeRegionOf(dialed),
    runsApplication: async (dialed) => (await tenants?.homeOf(dialed))?.runsApplication ?? false,
    signalingUri: (region) => fixed.signalingUri(region),
    peerRegionOf: (address) => fixed.peerRegionOf(address),
  };
}

/** Node id of calls whose media is anchored elsewhere (at the edge): nothing to allocate here. */
export const PASSTHROUGH_NODE = 'passthrough';

/**
 * A MediaPort that leaves calls placed on PASSTHROUGH_NODE alone (SDP in =
 * SDP out, nothing allocated or released) and hands every other call to the
 * real port.
 */
export function withPassthrough(media: MediaPort): MediaPort {
  const isPass = (nodeId: string): boolean => nodeId === PASSTHROUGH_NODE;
  return {
    acquire: (callId, need) => media.acquire(callId, need),
    reacquire: (callId, exclude, need) => media.reacquire(callId, exclude, need),
    attach: (callId, nodeId) => (isPass(nodeId) ? undefined : media.attach(callId, nodeId)),
    isHealthy: (nodeId) => isPass(nodeId) || media.isHealthy(nodeId),
    release: (callId) => media.release(callId),
    offer: (nodeId, callId, fromTag, sdp, toTag, opts) => (isPass(nodeId) ? Promise.resolve(sdp) : media.offer(nodeId, callId, fromTag, sdp, toTag, opts)),
    answer: (nodeId, callId, fromTag, toTag, sdp) => (isPass(nodeId) ? Promise.resolve(sdp) : media.answer(nodeId, callId, fromTag, toTag, sdp)),
    delete: (nodeId, callId) => (isPass(nodeId) ? Promise.resolve() : media.delete(nodeId, callId)),
  };
}
