/**
 * Ringing a client (`client:<identity>`, issue 13 item 4): each live
 * registration of the identity in the account is one branch of the call,
 * wherever it is connected. A registration on this node is reached over its
 * own WebSocket connection with its Contact as Request-URI (RFC 7118 §5); one
 * on a node of another region through that region's signaling node, with the
 * mesh headers that let it deliver to its own connection
 * (clients/mesh-delivery.ts). The media stays anchored on this node's media
 * node: the peer passes the SDP through unchanged.
 */
import type { ClientRegistration } from '../../regions/store/client-registrations.js';
import { CALL_SID_HEADER, EDGE_REGION_HEADER, MEDIA_NODE_HEADER } from '../b2bua/mesh.js';
import { CLIENT_BINDING_HEADER, CLIENT_PARAMS_HEADER, encodeClientBinding, encodeClientParams } from '../clients/mesh-delivery.js';
import { parseUri, type Endpoint } from '../sip/message/index.js';
import { uriToEndpoint } from '../sip/transport/endpoint.js';

/** Where one branch of a client call goes. */
export interface ClientBranchTarget {
  dest: Endpoint;
  ruri: string;
  /** Headers the INVITE carries besides the usual ones. */
  headers: [string, string][];
  bindingId: string;
  region: string;
  /** Whether the client's connection is on this node. */
  local: boolean;
  /** The client does ICE (registered with `+sip.ice`): its leg wants ICE + DTLS-SRTP media. */
  webrtc: boolean;
}

export interface ClientBranchContext {
  region: string;
  nodeId: string;
  /** SIP URI of a region's signaling node (mesh peers), undefined if unknown. */
  signalingUri(region: string): string | undefined;
}

/**
 * The branches for `registrations` of a call (`callSid`, media on `mediaNodeId`).
 * A registration on another node of this region (a node that died; its standby
 * purges them) or in a region without a known signaling node is skipped.
 */
export function clientBranchTargets(
  registrations: readonly ClientRegistration[],
  ctx: ClientBranchContext,
  call: { callSid: string; mediaNodeId: string; parameters?: readonly { name: string; value: string }[] | undefined },
): { targets: ClientBranchTarget[]; skipped: { bindingId: string; region: string; why: string }[] } {
  const targets: ClientBranchTarget[] = [];
  const skipped: { bindingId: string; region: string; why: string }[] = [];
  const params = encodeClientParams(call.parameters);
  const paramHeader: [string, string][] = params === undefined ? [] : [[CLIENT_PARAMS_HEADER, params]];
  for (const r of registrations) {
    const webrtc = r.webrtc;
    if (r.nodeId === ctx.nodeId) {
      targets.push({
        dest: { transport: r.transport, address: r.connection.address, port: r.connection.port },
        ruri: r.contact,
        // The client learns the call's CallSid (a relayed branch carries it too, new-call.ts).
        headers: [[CALL_SID_HEADER, call.callSid], ...paramHeader],
        bindingId: r.bindingId,
        region: r.region,
        local: true,
        webrtc,
      });
      continue;
    }
    if (r.region === ctx.region) {
      skipped.push({ bindingId: r.bindingId, region: r.region, why: `registered on node ${r.nodeId}, not this region's active node` });
      continue;
    }
    const peer = ctx.signalingUri(r.region);
    if (peer === undefined) {
      skipped.push({ bindingId: r.bindingId, region: r.region, why: `no signaling node known for region ${r.region}` });
      continue;
    }
    const uri = parseUri(peer);
    const dest = uriToEndpoint(uri, 'UDP');
    targets.push({
      dest,
      ruri: `sip:client-${encodeURIComponent(r.identity)}@${uri.host}${uri.port !== undefined ? `:${uri.port}` : ''}${dest.transport === 'TCP' ? ';transport=tcp' : ''}`,
      headers: [
        [EDGE_REGION_HEADER, ctx.region],
        [MEDIA_NODE_HEADER, call.mediaNodeId],
        [CALL_SID_HEADER, call.callSid],
        [CLIENT_BINDING_HEADER, encodeClientBinding(r)],
        ...paramHeader,
      ],
      bindingId: r.bindingId,
      region: r.region,
      local: false,
      webrtc,
    });
  }
  return { targets, skipped };
}

/**
 * Whether the one offer sent to every branch is WebRTC (ICE, DTLS-SRTP):
 * only when every branch is a WebRTC client. With a mix it is plain RTP,
 * which any client over SIP takes; a browser among them still rings, but
 * cannot set up media if it is the one that answers. No branch: plain.
 */
export function offerWebrtc(targets: readonly Pick<ClientBranchTarget, 'webrtc'>[]): boolean {
  return targets.length > 0 && targets.every((t) => t.webrtc);
}
