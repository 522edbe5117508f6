/**
 * Outbound webhook HTTP: every request has a timeout and a bounded response
 * body; form-encoded POST or query-string GET, signed per signature.ts.
 */
import { computeSignature, type Params } from './signature.js';

export interface WebhookResult {
  ok: boolean;
  status: number | undefined;
  /** Response body, cut at maxBodyBytes. */
  body: string;
  error: string | undefined;
  ms: number;
}

export interface WebhookOptions {
  method: 'GET' | 'POST';
  url: string;
  params: Params;
  authToken: string;
  /** Default 5000 ms. */
  timeoutMs?: number;
  /** Default 64 KiB. */
  maxBodyBytes?: number;
}

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
  try {
    const res = await fetch(url, {
      method: o.method,
      headers: {
        'X-Twilio-Signature': signature,
        'User-Agent': 'edge-mesh/0.1',
        ...(body !== undefined ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body !== undefined ? { body } : {}),
      signal: AbortSignal.timeout(o.timeoutMs ?? 5000),
      redirect: 'follow',
    });
    const text = await readBounded(res, maxBody);
    return { ok: res.ok, status: res.status, body: text, error: undefined, ms: performance.now() - started };
  } catch (e) {
    return { ok: false, status: undefined, body: '', error: (e as Error).message, ms: performance.now() - started };
  }
}

async function readBounded(res: Response, max: number): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel();
      break;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
