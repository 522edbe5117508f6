/**
 * A fetch-shaped fake under sendWebhook: the webhook client talks HTTP
 * through regions/net/guarded-request.ts (not the global fetch), so unit
 * tests replace `guardedRequest` with this, keeping the signing, encoding
 * and result mapping of sendWebhook real:
 *
 *   const fake = vi.hoisted(() => ({ handler: undefined as FakeFetch | undefined }));
 *   vi.mock('../../../../regions/net/guarded-request.js', async (orig) => ({
 *     ...(await orig<object>()),
 *     guardedRequest: (o: GuardedRequestOptions) => fakeGuardedRequest(o, fake.handler),
 *   }));
 */
import { Readable } from 'node:stream';
import { MeshError } from '../../../../regions/core/errors.js';
import type { GuardedRequestOptions, GuardedResponse } from '../../../../regions/net/guarded-request.js';

export type FakeFetch = (url: string, init: { method: string; headers: Record<string, string>; body: string | undefined }) => Promise<Response> | Response;

export async function fakeGuardedRequest(o: GuardedRequestOptions, handler: FakeFetch | undefined): Promise<GuardedResponse> {
  if (handler === undefined) throw new MeshError('INTERNAL', 'no fake HTTP handler set');
  let res: Response;
  try {
    res = await handler(o.url, { method: o.method, headers: { ...o.headers }, body: o.body === undefined ? undefined : String(o.body) });
  } catch (e) {
    throw new MeshError('BAD_GATEWAY', `request to ${new URL(o.url).host} failed: ${(e as Error).message}`, { cause: e });
  }
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers.entries()),
    url: o.url,
    address: '192.0.2.1',
    body: Readable.from(bytes.length === 0 ? [] : [bytes]),
  };
}
