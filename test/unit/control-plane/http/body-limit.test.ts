import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { bodyLimit, readBounded } from '../../../../control-plane/http/body-limit.js';
import { renderHttpError, type ErrorFormat } from '../../../../control-plane/http/errors.js';
import { MeshError, isMeshError } from '../../../../regions/core/errors.js';

const enc = (s: string) => new TextEncoder().encode(s);

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
}

describe('readBounded', () => {
  it('joins chunks up to the limit', async () => {
    const out = await readBounded(streamOf([enc('ab'), enc('cd')]), 4);
    expect(new TextDecoder().decode(out)).toBe('abcd');
  });
  it('throws TOO_LARGE at the first chunk past the limit, without reading the rest', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(1000));
      },
    });
    const err = await readBounded(endless, 2500).catch((e: unknown) => e);
    expect(isMeshError(err, 'TOO_LARGE')).toBe(true);
    expect(pulled).toBeLessThanOrEqual(4);
  });
  it('throws the caller’s own error when given one', async () => {
    const err = await readBounded(streamOf([enc('abc')]), 2, (max) => new MeshError('TOO_LARGE', `over ${max}`)).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TOO_LARGE', message: 'over 2' });
  });
});

const FORMAT: ErrorFormat<{ code: string; message: string }> = {
  body: (e) => ({ code: e.code, message: e.message }),
  realm: 'test',
  internalMessage: 'internal error',
};

function app(maxBytes: number): Hono {
  const a = new Hono();
  a.onError((e, c) => renderHttpError(e, c, FORMAT));
  a.use('*', bodyLimit({ maxBytes }));
  a.all('/echo', async (c) => c.text(`${c.req.method} ${await c.req.text()}`));
  return a;
}

describe('bodyLimit', () => {
  it('refuses a Content-Length over the limit before reading: 413 + Connection: close', async () => {
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled++;
        c.enqueue(new Uint8Array(8));
      },
    });
    const res = await app(16).request('/echo', { method: 'POST', body, headers: { 'content-length': '17' }, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toEqual({ code: 'TOO_LARGE', message: 'request body exceeds 16 bytes' });
    expect(pulled).toBeLessThanOrEqual(1);
  });

  it('counts a body without Content-Length (chunked) while reading it', async () => {
    const over = await app(16).request('/echo', { method: 'POST', body: streamOf([enc('0123456789'), enc('0123456789')]), duplex: 'half' } as RequestInit);
    expect(over.status).toBe(413);
    expect(over.headers.get('connection')).toBe('close');
    const under = await app(16).request('/echo', { method: 'POST', body: streamOf([enc('01234567'), enc('89abcdef')]), duplex: 'half' } as RequestInit);
    expect(under.status).toBe(200);
    expect(await under.text()).toBe('POST 0123456789abcdef');
  });

  it('lets requests without a body through', async () => {
    const res = await app(0).request('/echo');
    expect(await res.text()).toBe('GET ');
  });
});
