/**
 * Adapts the media node registry (media/) to the B2BUA's MediaPort
 * (signaling/), so neither folder imports the other.
 */
import { MeshError } from '../regions/core/errors.js';
import type { MediaNodeRegistry } from '../media/registry.js';
import type { MediaPort } from '../signaling/b2bua/media-port.js';

export class RegistryMediaPort implements MediaPort {
  constructor(private readonly registry: MediaNodeRegistry) {}

  acquire(callId: string): { nodeId: string } {
    return { nodeId: this.registry.acquire(callId).id };
  }

  reacquire(callId: string, excludeNodeId: string): { nodeId: string } {
    this.registry.release(callId);
    return { nodeId: this.registry.acquire(callId, { exclude: [excludeNodeId] }).id };
  }

  attach(callId: string, nodeId: string): void {
    this.registry.assign(callId, nodeId);
  }

  isHealthy(nodeId: string): boolean {
    return this.registry.isHealthy(nodeId);
  }

  release(callId: string): void {
    this.registry.release(callId);
  }

  private engine(nodeId: string) {
    const node = this.registry.node(nodeId);
    if (node === undefined) throw new MeshError('SERVICE_UNAVAILABLE', `media node ${nodeId} is not configured`);
    return node.engine;
  }

  offer(nodeId: string, callId: string, fromTag: string, sdp: string, toTag?: string): Promise<string> {
    return this.engine(nodeId).offer(callId, fromTag, sdp, toTag === undefined ? {} : { extra: { 'to-tag': toTag } });
  }

  answer(nodeId: string, callId: string, fromTag: string, toTag: string, sdp: string): Promise<string> {
    return this.engine(nodeId).answer(callId, fromTag, toTag, sdp);
  }

  delete(nodeId: string, callId: string): Promise<void> {
    return this.engine(nodeId).delete(callId);
  }
}
