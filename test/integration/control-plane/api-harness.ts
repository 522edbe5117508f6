/**
 * Shared set-up of the tenant API suites: real Redis (the integration global
 * set-up's, own key prefix per file), real HTTP server on an ephemeral port.
 */
import { Redis } from 'ioredis';
import { createTenantApp } from '../../../control-plane/api/app.js';
import { RedisCallControl } from '../../../control-plane/api/call-control.js';
import { startHttpServer, type RunningServer } from '../../../control-plane/api/server.js';
import type { TenantApiDeps } from '../../../control-plane/api/types.js';
import { bootstrapAccount } from '../../../control-plane/store/accounts.js';
import { keys } from '../../../regions/store/keys.js';
import type { AccountRecord, CallCommand } from '../../../regions/store/schema.js';
import { TEST_REDIS_URL } from '../global-setup.js';

export interface ApiHarness {
  url: string;
  redis: Redis;
  prefix: string;
  account: AccountRecord;
  server: RunningServer;
  close(): Promise<void>;
  /** Commands sent to a region's stream so far. */
  commands(region?: string): Promise<CallCommand[]>;
  req(method: string, path: string, opts?: ReqOptions): Promise<{ status: number; body: any; headers: Headers }>;
}

export interface ReqOptions {
  /** [user, pass]; default the harness account's SID and token. `null` = no Authorization header. */
  auth?: [string, string] | null;
  form?: Record<string, string | string[]>;
  body?: string;
  headers?: Record<string, string>;
}

export function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

export async function startApiHarness(prefix: string, overrides: Partial<TenantApiDeps> = {}): Promise<ApiHarness> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1, commandTimeout: 2000 });
  const stale = await redis.keys(`${prefix}*`);
  if (stale.length > 0) await redis.del(...stale);
  const app = createTenantApp({
    redis,
    keyPrefix: prefix,
    defaultRegion: 'us-east',
    regions: ['us-east', 'eu-west'],
    callControl: new RedisCallControl(redis, prefix),
    ...overrides,
  });
  const server = await startHttpServer(app, { hostname: '127.0.0.1', port: 0 });
  const account = await bootstrapAccount(redis, prefix, { friendlyName: 'Tenant A', homeRegion: 'us-east' });
  const h: ApiHarness = {
    url: server.url,
    redis,
    prefix,
    account,
    server,
    async close() {
      await server.close();
      const left = await redis.keys(`${prefix}*`);
      if (left.length > 0) await redis.del(...left);
      redis.disconnect();
    },
    async commands(region = 'us-east') {
      const entries = await redis.xrange(keys(prefix).commands(region), '-', '+');
      return entries.map(([, fields]) => JSON.parse(fields[1] as string) as CallCommand);
    },
    async req(method, path, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      const auth: [string, string] | null = opts.auth === undefined ? [account.sid, account.authToken] : opts.auth;
      if (auth !== null) headers['Authorization'] = basic(auth[0], auth[1]);
      let body = opts.body;
      if (opts.form !== undefined) {
        const q = new URLSearchParams();
        for (const [k, v] of Object.entries(opts.form)) for (const x of Array.isArray(v) ? v : [v]) q.append(k, x);
        body = q.toString();
        headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
      }
      const res = await fetch(`${server.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
    },
  };
  return h;
}
