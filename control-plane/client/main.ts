/**
 * The softphone page (`/client/`): reads a pasted or fetched access token,
 * registers over SIP over WebSocket, places and answers one call at a time,
 * mutes, sends DTMF, and shows the registration, the call state and the far
 * end's audio level. Plain DOM, no framework; bundled by infra/build-client.ts.
 */
import { DTMF_KEYS, readDialTarget } from './dial.js';
import { LevelMeter } from './level-meter.js';
import { Phone, type CallState, type RegistrationState } from './phone.js';
import { checkSignalingUrl, defaultSignalingUrl, parseSoftphoneConfig, type SoftphoneConfig } from './signaling-url.js';
import { describeToken, describeValidity, MAX_TOKEN_RESPONSE_CHARS, readAccessToken, refreshDelayMs, tokenFromResponse, type TokenReading } from './token.js';

/** Time limit of the token URL fetch and of loading config.json. */
const FETCH_TIMEOUT_MS = 5000;

function el<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`page element #${id} missing`);
  return e as T;
}

const ui = {
  token: el<HTMLTextAreaElement>('token'),
  tokenUrl: el<HTMLInputElement>('token-url'),
  fetchToken: el<HTMLButtonElement>('fetch-token'),
  tokenInfo: el<HTMLParagraphElement>('token-info'),
  region: el<HTMLSelectElement>('region'),
  signalingUrl: el<HTMLInputElement>('signaling-url'),
  register: el<HTMLButtonElement>('register'),
  unregister: el<HTMLButtonElement>('unregister'),
  registrationState: el<HTMLElement>('registration-state'),
  registrationDetail: el<HTMLParagraphElement>('registration-detail'),
  dial: el<HTMLInputElement>('dial'),
  call: el<HTMLButtonElement>('call'),
  answer: el<HTMLButtonElement>('answer'),
  reject: el<HTMLButtonElement>('reject'),
  hangup: el<HTMLButtonElement>('hangup'),
  mute: el<HTMLButtonElement>('mute'),
  callState: el<HTMLElement>('call-state'),
  callDetail: el<HTMLParagraphElement>('call-detail'),
  level: el<HTMLMeterElement>('level'),
  levelText: el<HTMLSpanElement>('level-text'),
  keypad: el<HTMLDivElement>('keypad'),
  remoteAudio: el<HTMLAudioElement>('remote-audio'),
  error: el<HTMLParagraphElement>('error'),
};

let registration: RegistrationState = 'unregistered';
let callState: CallState = 'idle';

const showError = (text: string): void => {
  ui.error.textContent = text;
};

const meter = new LevelMeter((dbfs) => {
  ui.level.value = dbfs;
  ui.levelText.textContent = `${Math.round(dbfs)} dBFS`;
  ui.level.dataset['rms'] = String(dbfs);
});

function render(): void {
  const registered = registration === 'registered';
  ui.registrationState.textContent = registration;
  ui.callState.textContent = callState;
  ui.register.disabled = registration === 'registered' || registration === 'connecting';
  ui.unregister.disabled = registration === 'unregistered';
  const busy = callState === 'calling' || callState === 'ringing' || callState === 'connected' || callState === 'incoming';
  ui.call.disabled = !registered || busy;
  ui.answer.disabled = callState !== 'incoming';
  ui.reject.disabled = callState !== 'incoming';
  ui.hangup.disabled = !(callState === 'calling' || callState === 'ringing' || callState === 'connected');
  ui.mute.disabled = callState !== 'connected';
  ui.mute.setAttribute('aria-pressed', String(phone.muted));
  ui.mute.textContent = phone.muted ? 'Unmute' : 'Mute';
  for (const b of ui.keypad.querySelectorAll('button')) b.disabled = callState !== 'connected';
}

const phone = new Phone({
  registration(state, detail) {
    registration = state;
    ui.registrationDetail.textContent = detail;
    render();
  },
  call(state, detail) {
    callState = state;
    ui.callDetail.textContent = detail;
    if (state === 'ended') {
      meter.stop();
      ui.remoteAudio.srcObject = null;
    }
    render();
  },
  remoteStream(stream) {
    // Chromium feeds a remote WebRTC track into WebAudio only while a media element plays it.
    ui.remoteAudio.srcObject = stream;
    void ui.remoteAudio.play().catch(() => undefined);
    meter.start(stream);
  },
});

/** The token in the field, read and described; undefined (and the reason shown) when unusable. */
function currentToken(): Extract<TokenReading, { ok: true }> | undefined {
  const reading = readAccessToken(ui.token.value);
  if (!reading.ok) {
    ui.tokenInfo.textContent = reading.reason;
    return undefined;
  }
  ui.tokenInfo.textContent = describeToken(reading.summary, Date.now());
  return reading;
}

/** GETs a token from `url`: the token, or why not (status, size, CORS, timeout). */
async function tokenFromUrl(url: URL): Promise<TokenReading> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), cache: 'no-store', credentials: 'omit' });
    if (!res.ok) return { ok: false, reason: `token URL answered ${res.status} ${res.statusText}` };
    const length = Number(res.headers.get('content-length') ?? '0');
    if (length > MAX_TOKEN_RESPONSE_CHARS) return { ok: false, reason: `token URL answered ${length} bytes, more than ${MAX_TOKEN_RESPONSE_CHARS}` };
    return tokenFromResponse(res.headers.get('content-type'), await res.text());
  } catch (e) {
    const err = e as Error;
    return {
      ok: false,
      reason: err.name === 'TimeoutError' ? `token URL did not answer within ${FETCH_TIMEOUT_MS / 1000} s` : `token URL unreachable (${err.message}; a URL on another origin must allow this page with CORS)`,
    };
  }
}

/** The token URL the field's token came from, while the field holds it: registration refreshes from there. */
let tokenSource: URL | undefined;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;

function stopRefresh(): void {
  clearTimeout(refreshTimer);
  refreshTimer = undefined;
}

/** While registered with a token from a token URL, fetch the next one before this one expires. */
function scheduleRefresh(expiresAtMs: number, identity: string): void {
  stopRefresh();
  const source = tokenSource;
  if (source === undefined) return;
  refreshTimer = setTimeout(() => {
    void (async () => {
      const reading = await tokenFromUrl(source);
      if (registration === 'unregistered' || tokenSource !== source) return;
      if (!reading.ok || reading.summary.identity !== identity) {
        const why = reading.ok ? `the new token is for client:${reading.summary.identity}, not client:${identity}` : reading.reason;
        ui.tokenInfo.textContent = `token refresh failed: ${why}; the registration ends when the current token expires`;
        // Try again later, while the current token lasts.
        if (expiresAtMs - Date.now() > 10_000) scheduleRefresh(expiresAtMs, identity);
        return;
      }
      ui.token.value = reading.token;
      ui.tokenInfo.textContent = `token refreshed: ${describeToken(reading.summary, Date.now())}`;
      phone.updateToken(reading.token);
      scheduleRefresh(reading.summary.expiresAtMs, identity);
    })();
  }, refreshDelayMs(expiresAtMs, Date.now()));
}

async function fetchToken(): Promise<void> {
  showError('');
  let url: URL;
  try {
    url = new URL(ui.tokenUrl.value.trim(), location.href);
  } catch {
    ui.tokenInfo.textContent = 'the token URL does not parse';
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    ui.tokenInfo.textContent = 'the token URL must be http(s)';
    return;
  }
  ui.fetchToken.disabled = true;
  ui.tokenInfo.textContent = `fetching a token from ${url.origin}…`;
  try {
    const reading = await tokenFromUrl(url);
    if (!reading.ok) {
      ui.tokenInfo.textContent = reading.reason;
      return;
    }
    ui.token.value = reading.token;
    tokenSource = url;
    currentToken();
  } finally {
    ui.fetchToken.disabled = false;
  }
}

function register(): void {
  showError('');
  const reading = currentToken();
  if (reading === undefined) return;
  const validity = describeValidity(reading.summary, Date.now());
  if (!validity.usable) {
    ui.tokenInfo.textContent = `this token cannot register: ${validity.text}`;
    return;
  }
  const signaling = checkSignalingUrl(ui.signalingUrl.value);
  if (!signaling.ok) {
    showError(signaling.reason);
    return;
  }
  try {
    phone.register(signaling.url, reading.token, reading.summary.identity);
    scheduleRefresh(reading.summary.expiresAtMs, reading.summary.identity);
  } catch (e) {
    showError(`cannot register: ${(e as Error).message}`);
  }
}

function dial(): void {
  showError('');
  const target = readDialTarget(ui.dial.value);
  if (!target.ok) {
    showError(target.reason);
    return;
  }
  try {
    phone.call(target.user);
  } catch (e) {
    showError(`cannot call: ${(e as Error).message}`);
  }
}

async function loadConfig(): Promise<void> {
  let config: SoftphoneConfig;
  try {
    const res = await fetch('config.json', { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), cache: 'no-store' });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText}`);
    config = parseSoftphoneConfig(await res.json());
  } catch (e) {
    showError(`region list unavailable (${(e as Error).message}); type the signaling URL`);
    return;
  }
  for (const r of config.regions) {
    const option = document.createElement('option');
    option.value = r.websocketUrl;
    option.textContent = `${r.id} (${r.websocketUrl})`;
    option.selected = r.id === config.defaultRegion;
    ui.region.append(option);
  }
  if (ui.signalingUrl.value.trim() === '') ui.signalingUrl.value = defaultSignalingUrl(config) ?? '';
}

for (const key of DTMF_KEYS) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = key;
  b.setAttribute('aria-label', `DTMF ${key}`);
  b.addEventListener('click', () => phone.sendDtmf(key));
  ui.keypad.append(b);
}

ui.token.addEventListener('input', () => {
  // A token typed or pasted by hand has no URL to refresh from.
  tokenSource = undefined;
  currentToken();
});
ui.fetchToken.addEventListener('click', () => void fetchToken());
ui.region.addEventListener('change', () => {
  ui.signalingUrl.value = ui.region.value;
});
ui.register.addEventListener('click', register);
ui.unregister.addEventListener('click', () => {
  stopRefresh();
  phone.unregister();
});
ui.call.addEventListener('click', dial);
ui.dial.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !ui.call.disabled) dial();
});
ui.answer.addEventListener('click', () => phone.answer());
ui.reject.addEventListener('click', () => phone.hangUp());
ui.hangup.addEventListener('click', () => phone.hangUp());
ui.mute.addEventListener('click', () => {
  phone.setMuted(!phone.muted);
  render();
});
// A page closed while registered unregisters (best effort) rather than leaving a binding until the connection times out.
window.addEventListener('pagehide', () => phone.unregister());

const tokenUrlParam = new URLSearchParams(location.search).get('tokenUrl');
if (tokenUrlParam !== null) ui.tokenUrl.value = tokenUrlParam;
render();
void loadConfig();
