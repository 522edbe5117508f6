import { describe, expect, it } from 'vitest';
import { errorBody } from '../../../../control-plane/api/errors.js';
import { CreateCallForm } from '../../../../control-plane/api/schemas/calls.js';
import { validationError } from '../../../../control-plane/api/validation.js';

function errorFor(form: Record<string, unknown>) {
  const r = CreateCallForm.safeParse(form);
  if (r.success) throw new Error('expected a validation failure');
  return errorBody(validationError(r.error));
}

describe('validation errors', () => {
  it('name the missing field with the API code for it', () => {
    expect(errorFor({ From: '+15551234567' })).toMatchObject({ code: 21201, status: 400, message: 'Missing required parameter To' });
    expect(errorFor({ To: '+15551234567' })).toMatchObject({ code: 21213, message: 'Missing required parameter From' });
  });
  it('name the invalid field', () => {
    const e = errorFor({ To: '+15551234567', From: '+15551234567', Url: 'javascript:alert(1)' });
    expect(e).toMatchObject({ code: 21205 });
    expect(e.message).toContain('Invalid parameter Url');
    expect(errorFor({ To: 'x', From: '+15551234567' }).code).toBe(21211);
  });
  it('accept the address forms calls use and repeated events', () => {
    const ok = CreateCallForm.parse({ To: 'sip:alice@127.0.0.1', From: 'client:bob', StatusCallbackEvent: ['initiated ringing', 'completed'], Method: 'get' });
    expect(ok.StatusCallbackEvent).toEqual(['initiated', 'ringing', 'completed']);
    expect(ok.Method).toBe('GET');
  });
});
