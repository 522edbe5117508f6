/**
 * Outbound webhook HTTP: every request has a timeout and a bounded response
 * body; form-encoded POST or query-string GET, signed per signature.ts. The
 * destination (after DNS, and at every redirect) must pass the webhook
 * destination policy (regions/net): a refusal is a failed request with
 * `refused` set, which callers report like any connection failure.
 */
import { OPEN_DESTINATION_POLICY, isDestinationRefused, type DestinationPolicy } from '../../regions/net/destination-policy.js';
import { guardedRequest, readBody } from '../../regions/net/guarded-request.js';
import { computeSignature, type Params } from './signature.js';

export interface WebhookResult {
  ok: boolean;
  status: number | undefined;
  /** Response body, cut at maxBodyBytes. */
  body: string;
  error: string | undefined;
  /** True when the destination policy refused the URL (or a redirect's Location). */
  refused?: boolean;
  ms: number;
}

export interface WebhookOptions {
  method: 'GET' | 'POST';
  url: string;
  params: Params;
  authToken: string;
  /** Default 5000 ms, for the whole exchange (DNS, redirects, body). */
  timeoutMs?: number;
  /** Default 64 KiB. */
  maxBodyBytes?: number;
  /** Where requests may go. Default OPEN_DESTINATION_POLICY (anywhere); the node passes the configured one (`webhooks.*`). */
  policy?: DestinationPolicy;
}

/** Redirects followed per request. */
const MAX_REDIRECTS = 5;

function encode(params: Params): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const one of Array.isArray(v) ? v : [v]) u.append(k, one);
  return u.toString();
}

export async function sendWebhook(o: WebhookOptions): Promise<WebhookResult> {
  const started = performance.now();
  const maxBody = o.maxBodyBytes ?? 65536;
  let url = o.url;
  let body: string | undefined;
  if (o.method === 'GET') {
    const q = encode(o.params);
    if (q !== '') url += (url.includes('?') ? '&' : '?') + q;
  } else body = encode(o.params);
  const signature = o.method === 'GET' ? computeSignature(o.authToken, url) : computeSignature(o.authToken, url, o.params);
  const signal = AbortSignal.timeout(o.timeoutMs ?? 5000);
  try {
    const res = await guardedRequest({
      method: o.method,
      url,
      headers: {
        'X-Twilio-Signature': signature,
        'User-Agent': 'edge-mesh/0.1',
        ...(body !== undefined ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body !== undefined ? { body } : {}),
      policy: o.policy ?? OPEN_DESTINATION_POLICY,
      signal,
      maxRedirects: MAX_REDIRECTS,
    });
    const text = (await readBody(res.body, maxBody, signal, `response of ${res.url}`)).bytes.toString('utf8');
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, body: text, error: undefined, ms: performance.now() - started };
  } catch (e) {
    return {
      ok: false,
      status: undefined,
      body: '',
      error: (e as Error).message,
      ...(isDestinationRefused(e) ? { refused: true } : {}),
      ms: performance.now() - started,
    };
  }
}
