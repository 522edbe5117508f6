/**
 * Where the page registers: the page config the control plane serves
 * (`/client/config.json`: every catalog region's SIP-over-WebSocket URL) and
 * the URL the page opens, with the token as `access_token` in its query
 * (issue 13: browsers cannot set headers on a WebSocket upgrade). Pure.
 */

/** `/client/config.json`. */
export interface SoftphoneConfig {
  /** The region whose URL the page starts with (the control plane's own region). */
  defaultRegion: string;
  /** Every catalog region, catalog order. */
  regions: { id: string; websocketUrl: string }[];
}

const MAX_REGIONS = 64;
const MAX_URL_CHARS = 2048;

/** Validates what `/client/config.json` answered; throws an Error naming what is wrong. */
export function parseSoftphoneConfig(raw: unknown): SoftphoneConfig {
  if (typeof raw !== 'object' || raw === null) throw new Error('config.json is not an object');
  const { defaultRegion, regions } = raw as Record<string, unknown>;
  if (typeof defaultRegion !== 'string') throw new Error('config.json: defaultRegion is not a string');
  if (!Array.isArray(regions) || regions.length > MAX_REGIONS) throw new Error(`config.json: regions is not a list of at most ${MAX_REGIONS}`);
  const out: SoftphoneConfig['regions'] = [];
  for (const [i, r] of regions.entries()) {
    const { id, websocketUrl } = (r ?? {}) as Record<string, unknown>;
    if (typeof id !== 'string' || typeof websocketUrl !== 'string') throw new Error(`config.json: regions[${i}] needs id and websocketUrl strings`);
    const checked = checkSignalingUrl(websocketUrl);
    if (!checked.ok) throw new Error(`config.json: regions[${i}].websocketUrl: ${checked.reason}`);
    out.push({ id, websocketUrl: checked.url });
  }
  return { defaultRegion, regions: out };
}

/** The URL the page starts with: the default region's, else the first. */
export function defaultSignalingUrl(config: SoftphoneConfig): string | undefined {
  return (config.regions.find((r) => r.id === config.defaultRegion) ?? config.regions[0])?.websocketUrl;
}

/** A `ws:` or `wss:` URL without credentials or fragment, normalised; else why not. */
export function checkSignalingUrl(text: string): { ok: true; url: string } | { ok: false; reason: string } {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'no signaling URL (ws://host:5066 or wss://…)' };
  if (trimmed.length > MAX_URL_CHARS) return { ok: false, reason: `signaling URL longer than ${MAX_URL_CHARS} characters` };
  if (!/^wss?:\/\//i.test(trimmed)) return { ok: false, reason: `signaling URL must start with ws:// or wss://, not ${trimmed.slice(0, 12)}…` };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { ok: false, reason: `signaling URL ${trimmed} does not parse` };
  }
  if (url.username !== '' || url.password !== '') return { ok: false, reason: 'signaling URL must not carry a user or password' };
  if (url.hash !== '') return { ok: false, reason: 'signaling URL must not have a #fragment' };
  return { ok: true, url: url.toString() };
}

/** The signaling URL with `access_token=<token>` in its query (replacing one already there). */
export function signalingUrlWithToken(signalingUrl: string, token: string): string {
  const url = new URL(signalingUrl);
  url.searchParams.set('access_token', token);
  return url.toString();
}

/** The SIP domain the page registers in: the signaling URL's host name (IPv6 in brackets, as a SIP URI writes it). */
export function sipDomain(signalingUrl: string): string {
  return new URL(signalingUrl).hostname;
}
