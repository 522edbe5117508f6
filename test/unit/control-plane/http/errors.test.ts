import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { renderError } from '../../../../control-plane/api/errors.js';
import { renderHttpError, toMeshError, type ErrorFormat } from '../../../../control-plane/http/errors.js';
import { handleError } from '../../../../control-plane/operator/http.js';
import { MeshError } from '../../../../regions/core/errors.js';
import type { Logger } from '../../../../regions/core/log.js';

const FORMAT: ErrorFormat<{ code: string; message: string; status: number }> = {
  body: (e) => ({ code: e.code, message: e.message, status: e.httpStatus }),
  realm: 'test-realm',
  internalMessage: 'internal error',
};

/** An app whose only route throws `thrown`; `internal` collects what the renderer reports as 500s. */
function throwing(thrown: unknown, internal: unknown[] = []): Hono {
  const a = new Hono();
  a.onError((e, c) => renderHttpError(e, c, FORMAT, (err) => internal.push(err)));
  a.get('/', () => {
    throw thrown;
  });
  return a;
}

describe('renderHttpError', () => {
  it('takes the status from the catalogue’s http field, not the SIP one', async () => {
    const res = await throwing(new MeshError('TOO_MANY_HOPS', 'loop')).request('/');
    expect(res.status).toBe(508);
    expect(await res.json()).toEqual({ code: 'TOO_MANY_HOPS', message: 'loop', status: 508 });
    expect((await throwing(new MeshError('RATE_LIMITED', 'slow down')).request('/')).status).toBe(429);
  });

  it('sends Retry-After when the error carries one, and only then', async () => {
    const limited = await throwing(new MeshError('RATE_LIMITED', 'slow down', { retryAfter: 3 })).request('/');
    expect(limited.headers.get('retry-after')).toBe('3');
    expect((await throwing(new MeshError('RATE_LIMITED', 'slow down')).request('/')).headers.get('retry-after')).toBeNull();
  });

  it('challenges a 401 with the API’s realm, and sends Allow with a 405', async () => {
    const denied = await throwing(new MeshError('UNAUTHORIZED', 'who are you')).request('/');
    expect(denied.headers.get('www-authenticate')).toBe('Basic realm="test-realm", charset="UTF-8"');
    const wrongVerb = await throwing(new MeshError('METHOD_NOT_ALLOWED', 'no', { detail: { allow: 'GET, POST' } })).request('/');
    expect(wrongVerb.headers.get('allow')).toBe('GET, POST');
  });

  it('closes the connection after a 413', async () => {
    expect((await throwing(new MeshError('TOO_LARGE', 'big')).request('/')).headers.get('connection')).toBe('close');
  });

  it('masks every 500 — unknown errors and 500 catalogue entries alike — and reports the real error', async () => {
    for (const thrown of [new Error('ECONNREFUSED 10.0.0.7:6379'), new MeshError('CONFIG_INVALID', 'key acct:secret missing')]) {
      const internal: unknown[] = [];
      const res = await throwing(thrown, internal).request('/');
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ code: 'INTERNAL', message: 'internal error', status: 500 });
      expect(text).not.toMatch(/6379|secret/);
      expect(internal).toEqual([thrown]);
    }
  });

  it('does not report errors that are not 500s', async () => {
    const internal: unknown[] = [];
    await throwing(new MeshError('NOT_FOUND', 'gone'), internal).request('/');
    await throwing(new MeshError('SERVICE_UNAVAILABLE', 'try later'), internal).request('/');
    expect(internal).toEqual([]);
  });
});

describe('toMeshError', () => {
  it('names a hono HTTPException by its status, and gives up on statuses the catalogue lacks', () => {
    expect(toMeshError(new HTTPException(400, { message: 'Malformed JSON in request body' }))).toMatchObject({
      code: 'BAD_REQUEST',
      message: 'Malformed JSON in request body',
    });
    expect(toMeshError(new HTTPException(413))).toMatchObject({ code: 'TOO_LARGE', message: 'Message Too Large' });
    expect(toMeshError(new HTTPException(418))).toBeUndefined();
    expect(toMeshError(new Error('x'))).toBeUndefined();
  });
});

describe('the two wire formats on the one renderer', () => {
  it('tenant API: {code, message, more_info, status} with numeric codes; a 500 is logged, not shown', async () => {
    const logged: unknown[] = [];
    const log = { error: (msg: string, fields?: unknown) => logged.push([msg, fields]) } as unknown as Logger;
    const a = new Hono();
    a.onError((e, c) => renderError(e, c, log));
    a.get('/limited', () => {
      throw new MeshError('RATE_LIMITED', 'Too many requests', { retryAfter: 1 });
    });
    a.get('/boom', () => {
      throw new Error('redis down');
    });
    const limited = await a.request('/limited');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(await limited.json()).toEqual({
      code: 20429,
      message: 'Too many requests',
      more_info: 'https://www.twilio.com/docs/errors/20429',
      status: 429,
    });
    const boom = await a.request('/boom');
    expect(await boom.json()).toEqual({
      code: 20500,
      message: 'Internal server error',
      more_info: 'https://www.twilio.com/docs/errors/20500',
      status: 500,
    });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject(['tenant api: unexpected error', { path: '/boom' }]);
  });

  it('operator API: {code, message, status, field?} with catalogue codes', async () => {
    const internal: unknown[] = [];
    const a = new Hono();
    a.onError((e, c) => handleError(e, c, (err) => internal.push(err)));
    a.get('/field', () => {
      throw new MeshError('NOT_FOUND', 'node n1 not found', { detail: { field: 'nodeId' } });
    });
    a.get('/boom', () => {
      throw new MeshError('INTERNAL', 'unexpected carrier save result 7');
    });
    expect(await (await a.request('/field')).json()).toEqual({ code: 'NOT_FOUND', message: 'node n1 not found', status: 404, field: 'nodeId' });
    expect(await (await a.request('/boom')).json()).toEqual({ code: 'INTERNAL', message: 'internal error', status: 500 });
    expect(internal).toHaveLength(1);
  });
});
