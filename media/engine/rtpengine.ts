import { MeshError } from '../../regions/core/errors.js';
import type { NgClientLike } from '../ng/client.js';
import type { NgQueryResult } from '../ng/types.js';
import type { MediaEngine, MediaSdpOptions, SubscriptionOffer } from './types.js';

/**
 * Defaults that make a B2BUA in front of plain SIP phones work: rtpengine
 * writes its own address into o= and the session c= line (otherwise the
 * phones would still see each other's address in o=/c=), and ICE candidates
 * are stripped because our SIP peers do not do ICE.
 */
export const B2BUA_SDP_DEFAULTS: Readonly<MediaSdpOptions> = Object.freeze<MediaSdpOptions>({
  replace: ['origin', 'session-connection'],
  ice: 'remove',
});

/**
 * MediaEngine on one rtpengine over its ng client. Each method is one ng
 * command (`offer`, `answer`, `delete`, `query`, `play media`, `stop media`,
 * `subscribe request`, `subscribe answer`, `unsubscribe`); failures are the
 * client's (UPSTREAM_TIMEOUT, BAD_GATEWAY with rtpengine's error reason, CLOSED).
 */
export class RtpengineMediaEngine implements MediaEngine {
  constructor(
    private readonly client: NgClientLike,
    private readonly defaults: MediaSdpOptions = B2BUA_SDP_DEFAULTS,
  ) {}

  async offer(callId: string, fromTag: string, sdp: string, opts: MediaSdpOptions = {}): Promise<string> {
    const r = await this.client.offer(Object.assign({ callId, fromTag, sdp }, this.defaults, opts));
    return r.sdp;
  }

  async answer(callId: string, fromTag: string, toTag: string, sdp: string, opts: MediaSdpOptions = {}): Promise<string> {
    const r = await this.client.answer(Object.assign({ callId, fromTag, toTag, sdp }, this.defaults, opts));
    return r.sdp;
  }

  async delete(callId: string, fromTag?: string): Promise<void> {
    await this.client.delete(fromTag === undefined ? { callId } : { callId, fromTag });
  }

  query(callId: string): Promise<NgQueryResult> {
    return this.client.query(callId);
  }

  async play(callId: string, fromTag: string, file: string): Promise<number | undefined> {
    const reply = await this.client.command('play media', { 'call-id': callId, 'from-tag': fromTag, file });
    return typeof reply.duration === 'number' ? reply.duration : undefined;
  }

  async stopPlay(callId: string, fromTag: string): Promise<void> {
    await this.client.command('stop media', { 'call-id': callId, 'from-tag': fromTag });
  }

  async subscribe(callId: string, fromTags: readonly string[]): Promise<SubscriptionOffer> {
    const reply = await this.client.command('subscribe request', { 'call-id': callId, 'from-tags': [...fromTags] });
    const toTag = reply['to-tag'];
    const sdp = reply.sdp;
    if (typeof toTag !== 'string' || typeof sdp !== 'string') throw new MeshError('BAD_GATEWAY', 'subscribe request: reply lacks to-tag or sdp');
    return { toTag, sdp };
  }

  async subscribeAnswer(callId: string, toTag: string, sdp: string): Promise<void> {
    await this.client.command('subscribe answer', { 'call-id': callId, 'to-tag': toTag, sdp });
  }

  async unsubscribe(callId: string, toTag: string): Promise<void> {
    await this.client.command('unsubscribe', { 'call-id': callId, 'to-tag': toTag });
  }
}
