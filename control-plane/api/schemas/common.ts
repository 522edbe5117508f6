/**
 * Zod building blocks shared by the resource schemas. Request fields are
 * PascalCase form fields (as the twilio helper library sends them); response
 * fields are snake_case.
 */
import { z } from '@hono/zod-openapi';

export const E164 = /^\+[1-9]\d{1,14}$/;

export const AccountSidParam = z.object({
  AccountSid: z.string().openapi({ param: { name: 'AccountSid', in: 'path' }, example: 'AC0123456789abcdef0123456789abcdef' }),
});

export const AccountAndSidParams = AccountSidParam.extend({
  Sid: z.string().openapi({ param: { name: 'Sid', in: 'path' } }),
});

/** HTTP method fields: the API takes GET or POST, any case. */
export const HttpMethodField = z
  .preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(['GET', 'POST']))
  .openapi({ type: 'string', enum: ['GET', 'POST'] });

export const UrlField = z
  .string()
  .max(4096)
  .refine((v) => {
    try {
      const u = new URL(v);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL');

/** An optional URL field of an update: an empty string clears it, as the 2010-04-01 API does. */
export const ClearableUrlField = z.union([UrlField, z.literal('')]);

/** Applies a clearable field to a record: absent leaves it, '' deletes it, a value sets it. */
export function applyClearable<R extends object, K extends keyof R>(record: R, key: K, value: R[K] | '' | undefined): void {
  if (value === undefined) return;
  if (value === '') delete record[key];
  else record[key] = value;
}

export const E164Field = z.string().regex(E164, 'must be an E.164 number such as +15551234567');

/** A field the client may repeat (StatusCallbackEvent=a&StatusCallbackEvent=b) or space-separate. */
export function repeated<T extends z.ZodTypeAny>(item: T) {
  return z
    .preprocess((v) => {
      const list: unknown[] | undefined = Array.isArray(v) ? v : v === undefined ? undefined : [v];
      return list?.flatMap((s) => (typeof s === 'string' ? s.split(/[\s,]+/).filter((x) => x !== '') : [s]));
    }, z.array(item).max(32))
    .openapi({ type: 'array', items: { type: 'string' } });
}

export const FriendlyNameField = z.string().max(64);

/** The body of a form-encoded route. */
export function formBody<T extends z.ZodTypeAny>(schema: T) {
  return { content: { 'application/x-www-form-urlencoded': { schema } }, required: false };
}

export const ErrorSchema = z
  .object({ code: z.number(), message: z.string(), more_info: z.string(), status: z.number() })
  .openapi('Error');

const err = (description: string) => ({ description, content: { 'application/json': { schema: ErrorSchema } } });

export const errorResponses = {
  400: err('A parameter is missing or invalid; the message names it'),
  401: err('Missing or wrong credentials'),
  403: err('Account not active, or outside an authorization profile'),
  404: err('No such resource in this account'),
  413: err('Body over the size limit'),
  415: err('Body is not application/x-www-form-urlencoded'),
  429: err('Rate limit exceeded; see Retry-After'),
};

export const conflictResponse = { 409: err('Conflicts with an existing resource') };

export const API_VERSION = '2010-04-01';

export function accountUri(accountSid: string): string {
  return `/${API_VERSION}/Accounts/${accountSid}`;
}

export function json<T extends z.ZodTypeAny>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}
