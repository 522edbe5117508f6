/**
 * Which application runs an inbound call: the dialed number's
 * IncomingPhoneNumber, then either its VoiceApplicationSid's application or
 * its own VoiceUrl. Numbers without either are not ours to run (the call is
 * routed as before); a number whose account is not active is refused.
 */
import type { Redis } from 'ioredis';
import { applicationKey, type ApplicationRecord } from '../../regions/store/applications.js';
import { findNumber, type IncomingNumberRecord } from '../../regions/store/numbers.js';
import { keys } from '../../regions/store/keys.js';
import type { AccountRecord } from '../../regions/store/schema.js';
import { callTags } from '../../regions/store/tags.js';
import type { AppTarget } from '../router/runner.js';
import type { FindNumberRecord } from './number-records.js';

export interface AppBinding {
  accountSid: string;
  authToken: string;
  /** The dialed number's SID; absent for a client's call (it runs its token's application). */
  numberSid?: string;
  applicationSid: string | undefined;
  app: AppTarget;
  statusCallback: { url: string; method: 'GET' | 'POST' } | undefined;
  /** The number's and the application's tags: the call carries them. */
  tags: string[];
}

export type AppResolution = { kind: 'none' } | { kind: 'app'; binding: AppBinding } | { kind: 'refused'; reason: string };

/** Documents longer than this to arrive are treated as failed (fallback); the dialect's ceiling is 15 s. */
const MAX_TIMEOUT_S = 15;

export class AppResolver {
  private readonly k: ReturnType<typeof keys>;
  private readonly findNumber: FindNumberRecord;

  /** `find`: the number lookup, e.g. a node's cached one (number-records.ts); default a store read each time. */
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    find?: FindNumberRecord,
  ) {
    this.k = keys(prefix);
    this.findNumber = find ?? ((dialed) => findNumber(redis, prefix, dialed));
  }

  async resolve(dialed: string): Promise<AppResolution> {
    const num = await this.findNumber(dialed);
    // A number without an application is routed like any other number.
    if (num === undefined || (num.applicationSid === undefined && (num.voiceUrl === undefined || num.voiceUrl === ''))) return { kind: 'none' };
    const account = parseJson<AccountRecord>(await this.redis.get(this.k.account(num.accountSid)));
    if (account === undefined) return { kind: 'refused', reason: `account ${num.accountSid} not found` };
    if (account.status !== 'active') return { kind: 'refused', reason: `account ${account.sid} is ${account.status}` };
    let app: ApplicationRecord | undefined;
    if (num.applicationSid !== undefined) {
      app = parseJson<ApplicationRecord>(await this.redis.get(applicationKey(this.prefix, num.applicationSid)));
      if (app === undefined) return { kind: 'refused', reason: `application ${num.applicationSid} not found` };
    }
    const binding = bindingOf(account, app, num);
    return binding === undefined ? { kind: 'none' } : { kind: 'app', binding };
  }

  /**
   * The binding of a browser client's call: the outgoing application of its
   * access token, run for the token's account (issue 13). The account must be
   * active and the application its own; `homeRegion` is where the call runs.
   */
  async resolveApplication(accountSid: string, applicationSid: string): Promise<{ kind: 'app'; binding: AppBinding; homeRegion: string } | { kind: 'refused'; reason: string }> {
    const account = parseJson<AccountRecord>(await this.redis.get(this.k.account(accountSid)));
    if (account === undefined) return { kind: 'refused', reason: `account ${accountSid} not found` };
    if (account.status !== 'active') return { kind: 'refused', reason: `account ${account.sid} is ${account.status}` };
    const app = parseJson<ApplicationRecord>(await this.redis.get(applicationKey(this.prefix, applicationSid)));
    if (app === undefined || app.accountSid !== account.sid) return { kind: 'refused', reason: `application ${applicationSid} is not an application of account ${account.sid}` };
    const binding = bindingOf(account, app, undefined);
    if (binding === undefined) return { kind: 'refused', reason: `application ${applicationSid} has no VoiceUrl` };
    return { kind: 'app', binding, homeRegion: account.homeRegion };
  }
}

/** What runs a call: the application's URLs (or the number's own when it has none). Undefined without a Voice URL. */
function bindingOf(account: AccountRecord, app: ApplicationRecord | undefined, num: IncomingNumberRecord | undefined): AppBinding | undefined {
  const url = app?.voiceUrl ?? num?.voiceUrl;
  if (url === undefined || url === '') return undefined;
  const fallbackUrl = app !== undefined ? app.voiceFallbackUrl : num?.voiceFallbackUrl;
  const timeoutS = Math.min(MAX_TIMEOUT_S, Math.max(1, app?.voiceTimeout ?? 5));
  const cbUrl = app?.statusCallback ?? num?.statusCallback;
  return {
    accountSid: account.sid,
    authToken: account.authToken,
    ...(num !== undefined ? { numberSid: num.sid } : {}),
    applicationSid: app?.sid,
    app: {
      url,
      method: (app !== undefined ? app.voiceMethod : num?.voiceMethod) ?? 'POST',
      ...(fallbackUrl !== undefined && fallbackUrl !== ''
        ? { fallbackUrl, fallbackMethod: (app !== undefined ? app.voiceFallbackMethod : num?.voiceFallbackMethod) ?? 'POST' }
        : {}),
      timeoutMs: timeoutS * 1000,
    },
    tags: callTags(num?.tags, app?.tags),
    statusCallback: cbUrl !== undefined && cbUrl !== '' ? { url: cbUrl, method: (app?.statusCallbackMethod ?? num?.statusCallbackMethod) ?? 'POST' } : undefined,
  };
}

function parseJson<T>(raw: string | null): T | undefined {
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}
