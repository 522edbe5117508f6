import { describe, expect, it } from 'vitest';
import { createLogger, loggable, REDACTED } from '../../../../regions/core/log.js';

function capture(level: Parameters<typeof createLogger>[0] = 'debug', base: Record<string, unknown> = {}) {
  const lines: string[] = [];
  const log = createLogger(level, base, (l) => lines.push(l));
  return { log, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger (pino)', () => {
  it('writes one JSON line per call with level name, ISO time, msg, child and call fields', () => {
    const { log, lines, records } = capture('debug', { proc: 'signaling' });
    log.child({ callSid: 'CA1' }).info('invite forwarded', { branch: 'z9hG4bK1' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const [r] = records();
    expect(r).toMatchObject({ level: 'info', msg: 'invite forwarded', proc: 'signaling', callSid: 'CA1', branch: 'z9hG4bK1' });
    expect(new Date(r!.t as string).toISOString()).toBe(r!.t);
    expect(r).not.toHaveProperty('pid');
    expect(r).not.toHaveProperty('hostname');
  });

  it('drops lines below its level and keeps the level on children', () => {
    const { log, records } = capture('warn');
    log.debug('d');
    log.info('i');
    log.child({ a: 1 }).info('child i');
    log.warn('w');
    log.child({ a: 1 }).error('e');
    expect(records().map((r) => `${r.level} ${r.msg}`)).toEqual(['warn w', 'error e']);
    expect(log.level).toBe('warn');
    expect(log.child({}).level).toBe('warn');
  });

  it('a call field wins over a child field of the same name', () => {
    const { log, records } = capture();
    log.child({ node: 'a' }).info('x', { node: 'b' });
    expect(records()[0]!.node).toBe('b');
  });

  it('writes errors as { name, message } under any field name', () => {
    const { log, records } = capture();
    log.warn('failed', { error: new TypeError('bad input'), err: new Error('boom') });
    expect(records()[0]).toMatchObject({ error: { name: 'TypeError', message: 'bad input' }, err: { name: 'Error', message: 'boom' } });
    expect(JSON.stringify(records()[0])).not.toContain('stack');
  });

  it('redacts auth tokens, passwords, Authorization headers and API key secrets, in call and child fields', () => {
    const { log, lines } = capture();
    log.child({ authToken: 'tok-child-1' }).info('webhook', {
      authToken: 'tok-call-2',
      password: 'pw-3',
      apiKeySecret: 'ks-4',
      request: { headers: { Authorization: 'Basic cHc1', 'Proxy-Authorization': 'Digest pw6' }, url: 'http://app.example/voice' },
      config: { controlPlane: { operatorPassword: 'op-7' } },
      key: { sid: 'SK1', secret: 'sec-8' },
      client: { token: 'jwt-9' },
    });
    const line = lines[0]!;
    for (const secret of ['tok-child-1', 'tok-call-2', 'pw-3', 'ks-4', 'cHc1', 'pw6', 'op-7', 'sec-8', 'jwt-9']) expect(line).not.toContain(secret);
    const r = JSON.parse(line) as Record<string, any>;
    expect(r.authToken).toBe(REDACTED);
    expect(r.request.headers.Authorization).toBe(REDACTED);
    expect(r.request.url).toBe('http://app.example/voice');
    expect(r.key).toEqual({ sid: 'SK1', secret: REDACTED });
  });

  it('loggable copies only what it changes and leaves the caller\'s object alone', () => {
    const plain = { a: 1, nested: { b: 2 } };
    expect(loggable(plain)).toBe(plain);
    const withSecret = { a: 1, nested: { password: 'x' } };
    const out = loggable(withSecret);
    expect(out).toEqual({ a: 1, nested: { password: REDACTED } });
    expect(withSecret.nested.password).toBe('x');
  });

  it('survives a circular object in the fields', () => {
    const { log, records } = capture();
    const loop: Record<string, unknown> = { name: 'loop' };
    loop.self = loop;
    log.info('circular', { loop });
    expect(records()[0]!.msg).toBe('circular');
  });
});
