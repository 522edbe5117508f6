/**
 * The softphone page in a real browser (issue 13, item 5): Debian's chromium
 * (playwright-core) loads /client/ from the control plane, reads a token the
 * `twilio` library minted, and registers over SIP over WebSocket with a real
 * signaling node whose ClientAuthenticator is the test table (the token
 * verifier is wired on another branch): the page shows `registered`, the
 * binding is in Redis, Unregister removes it; a refused token shows the
 * node's reason; an expired one is refused before anything is sent; the token
 * URL is fetched (CORS), with its errors and its timeout shown, and a token
 * from it is refreshed before it expires.
 * Calls: the page's INVITE (fake microphone) to a client nobody registered
 * is refused by the node, and the page shows the answer. Answering, mute,
 * DTMF and the level meter: softphone-incall-browser.test.ts.
 * 127.0.43.1 control plane, .2 token server, .10 signaling node, .11 media.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSoftphone } from '../../../infra/build-client.js';
import { parseConfig } from '../../../infra/config.js';
import { startControlPlane, type ControlPlane } from '../../../infra/control-plane.js';
import { startSignalingNode, type SignalingNode } from '../../../infra/signaling-node.js';
import { silentLogger } from '../../../regions/core/log.js';
import { listClientRegistrations } from '../../../regions/store/client-registrations.js';
import { presentedToken, type ClientAuthenticator } from '../../../signaling/clients/authenticator.js';
import { launchChromium } from '../../support/chromium.js';
import { tableAuthenticator } from '../../support/client-authenticator.js';
import { clearKeys } from '../../support/redis-keys.js';
import { waitUntil } from '../../support/wait.js';
import { TEST_REDIS_URL } from '../global-setup.js';
import { startMediaSet, testRegionConfig, type MediaSet } from '../signaling/b2bua/harness.js';

const PREFIX = `it-softphone-browser-${process.pid}:`;
const CP_ADDRESS = '127.0.43.1';
const TOKEN_SERVER = '127.0.43.2';
const SIG = { address: '127.0.43.10', port: 5060 };
const MEDIA = [{ id: 'sp-media-1', address: '127.0.43.11', ngPort: 2223, rtpPortMin: 45000, rtpPortMax: 45099, capabilities: ['relay'] }];
const WS_URL = `ws://${SIG.address}:5066`;
const ACCOUNT = 'AC' + '4'.repeat(32);
const KEY = 'SK' + '5'.repeat(32);
const APP = 'AP' + '6'.repeat(32);

const { AccessToken } = twilio.jwt;
const { VoiceGrant } = AccessToken;
/** The README's two lines, as a tenant's backend runs them. */
function mint(identity: string, ttl = 3600): string {
  const token = new AccessToken(ACCOUNT, KEY, 'the-key-secret', { identity, ttl });
  token.addGrant(new VoiceGrant({ outgoingApplicationSid: APP, incomingAllow: true }));
  return token.toJwt();
}

describe('the softphone page registers from a browser', () => {
  const aliceToken = mint('alice');
  const malloryToken = mint('mallory');
  /** Tokens the node accepts; the short-lived ones the token server mints are added as they are minted. */
  const accepted: Record<string, { accountSid: string; identity: string }> = { [aliceToken]: { accountSid: ACCOUNT, identity: 'alice' } };
  const table = tableAuthenticator(accepted);
  /** Every token the node was shown (Authorization: Bearer wins over the URL's access_token). */
  const presented: string[] = [];
  const auth: ClientAuthenticator & { readonly calls: number } = {
    get calls() {
      return table.calls;
    },
    authenticate: (req, conn) => {
      presented.push(presentedToken(req, conn) ?? '');
      return table.authenticate(req, conn);
    },
  };
  const shortLived: string[] = [];
  let media: MediaSet;
  let node: SignalingNode;
  let cp: ControlPlane;
  let browser: Browser;
  let tokenServer: Server;
  const pageErrors: string[] = [];
  /** What the token server answers next, by path. */
  const tokenAnswers: Record<string, { status: number; type: string; body: string; cors: boolean; hang?: boolean }> = {
    '/token': { status: 200, type: 'application/json', body: JSON.stringify({ identity: 'alice', token: aliceToken }), cors: true },
    '/denied': { status: 403, type: 'text/plain', body: 'no session', cors: true },
    '/no-cors': { status: 200, type: 'application/json', body: JSON.stringify({ token: aliceToken }), cors: false },
    '/slow': { status: 200, type: 'text/plain', body: aliceToken, cors: true, hang: true },
  };

  const bindings = () => listClientRegistrations(node.redis, PREFIX, ACCOUNT, 'alice');
  const openPage = async (): Promise<Page> => {
    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      // The token server's refusals (403, no CORS) are provoked on purpose; the browser logs them.
      const provoked = m.location().url.includes(TOKEN_SERVER) || m.text().includes(TOKEN_SERVER);
      if (m.type() === 'error' && !provoked) pageErrors.push(`console: ${m.text()}`);
    });
    await page.goto(`${cp.url}/client/`);
    return page;
  };
  const text = (page: Page, id: string): Promise<string> => page.locator(`#${id}`).innerText();
  const waitText = async (page: Page, id: string, re: RegExp, timeoutMs = 10_000): Promise<string> => {
    await page.locator(`#${id}`).filter({ hasText: re }).waitFor({ timeout: timeoutMs });
    return text(page, id);
  };

  beforeAll(async () => {
    await clearKeys(TEST_REDIS_URL, PREFIX);
    const logDir = mkdtempSync(join(tmpdir(), 'softphone-browser-'));
    const clientDir = join(logDir, 'client');
    await buildSoftphone(clientDir);
    media = await startMediaSet(MEDIA, logDir);
    node = await startSignalingNode(testRegionConfig({ keyPrefix: PREFIX, nodeId: 'sp-sig-1', sip: SIG, mediaNodes: MEDIA }, logDir), silentLogger, { clientAuthenticator: auth });
    cp = await startControlPlane(parseConfig({ region: 'us-east', redis: { url: TEST_REDIS_URL, keyPrefix: PREFIX }, controlPlane: { address: CP_ADDRESS } }), { operatorPassword: 'softphone-browser-op', port: 0, clientDir }, silentLogger);
    tokenServer = createServer((req, res) => {
      if (req.url === '/short') {
        // 20 s tokens: the page must fetch the next one before this one expires.
        const token = mint('alice', 20);
        shortLived.push(token);
        accepted[token] = { accountSid: ACCOUNT, identity: 'alice' };
        return void res.writeHead(200, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*' }).end(JSON.stringify({ token }));
      }
      const a = tokenAnswers[req.url ?? ''];
      if (a === undefined) return void res.writeHead(404).end();
      if (a.hang) return; // never answers: the page's timeout must end the wait
      res.writeHead(a.status, { 'Content-Type': a.type, ...(a.cors ? { 'Access-Control-Allow-Origin': '*' } : {}) }).end(a.body);
    });
    await new Promise<void>((r) => tokenServer.listen(0, TOKEN_SERVER, r));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    tokenServer?.closeAllConnections();
    await new Promise((r) => (tokenServer ? tokenServer.close(r) : r(undefined)));
    await cp?.close();
    await node?.close();
    await media?.close();
    await clearKeys(TEST_REDIS_URL, PREFIX);
  });

  it('shows the catalog regions, reads the token, registers as client:alice, and unregisters', async () => {
    const page = await openPage();
    // config.json: the control plane's region first, every catalog region in the list.
    await page.locator('#region option').nth(2).waitFor({ state: 'attached' });
    expect(await page.inputValue('#signaling-url')).toBe('ws://127.0.1.1:5066/');
    expect(await page.locator('#region option').allInnerTexts()).toEqual(['us-east (ws://127.0.1.1:5066/)', 'eu-west (ws://127.0.2.1:5066/)', 'ap-south (ws://127.0.3.1:5066/)']);
    expect(await text(page, 'registration-state')).toBe('unregistered');
    expect(await page.isDisabled('#call')).toBe(true);

    await page.fill('#token', aliceToken);
    expect(await text(page, 'token-info')).toMatch(new RegExp(`^client:alice of ${ACCOUNT}, expires in (59|60) min; may call out, takes incoming calls$`));
    await page.fill('#signaling-url', WS_URL);
    const before = auth.calls;
    await page.click('#register');
    await waitText(page, 'registration-state', /^registered$/);
    expect(await text(page, 'registration-detail')).toBe('registered as client:alice');
    expect(auth.calls).toBeGreaterThan(before);
    expect(presented.slice(-1)).toEqual([aliceToken]);
    const [b, ...rest] = await bindings();
    expect(rest).toEqual([]);
    expect(b).toMatchObject({ accountSid: ACCOUNT, identity: 'alice', region: 'us-east', nodeId: 'sp-sig-1', transport: 'WS' });
    expect(b!.contact).toMatch(/\.invalid;transport=ws$/);
    // Registered: calls may be placed, the keypad waits for a call.
    expect(await page.isDisabled('#call')).toBe(false);
    expect(await page.isDisabled('#register')).toBe(true);
    expect(await page.locator('#keypad button').count()).toBe(12);

    await page.click('#unregister');
    await waitText(page, 'registration-state', /^unregistered$/);
    await waitUntil(async () => (await bindings()).length === 0, 5000, 'binding removed after Unregister');
    await page.close();
  });

  it('shows the node refusing a token it does not accept, with the reason', async () => {
    const page = await openPage();
    await page.fill('#token', malloryToken);
    await page.fill('#signaling-url', WS_URL);
    await page.click('#register');
    await waitText(page, 'registration-state', /^failed$/);
    expect(await text(page, 'registration-detail')).toBe('registration failed: 403 Access Token Invalid');
    await page.click('#unregister');
    await page.close();
  });

  it('refuses an expired or malformed token before connecting, and a bad signaling URL', async () => {
    const page = await openPage();
    const calls = auth.calls;
    await page.fill('#signaling-url', WS_URL);
    await page.fill('#token', mint('alice', -120));
    await page.click('#register');
    expect(await text(page, 'token-info')).toMatch(/^this token cannot register: expired 2 min ago$/);
    await page.fill('#token', 'not-a-token');
    await page.click('#register');
    expect(await text(page, 'token-info')).toContain('not an access token');
    await page.fill('#token', aliceToken);
    await page.fill('#signaling-url', 'http://127.0.43.10:5066');
    await page.click('#register');
    expect(await text(page, 'error')).toContain('must start with ws:// or wss://');
    expect(await text(page, 'registration-state')).toBe('unregistered');
    expect(auth.calls).toBe(calls);
    await page.close();
  });

  it('fetches the token from a token URL and shows its errors and its timeout', async () => {
    const page = await openPage();
    const fetchFrom = async (path: string, expected: RegExp, timeoutMs = 3000): Promise<string> => {
      await page.fill('#token', '');
      await page.fill('#token-url', `http://${TOKEN_SERVER}:${(tokenServer.address() as { port: number }).port}${path}`);
      await page.click('#fetch-token');
      return waitText(page, 'token-info', expected, timeoutMs);
    };
    await fetchFrom('/token', /^client:alice of /);
    expect(await page.inputValue('#token')).toBe(aliceToken);
    await fetchFrom('/denied', /^token URL answered 403 Forbidden$/);
    await fetchFrom('/no-cors', /^token URL unreachable \(.*CORS\)$/);
    const started = Date.now();
    await fetchFrom('/slow', /^token URL did not answer within 5 s$/, 8000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4500);
    expect(await page.isDisabled('#fetch-token')).toBe(false);
    // Then register with the fetched token.
    await fetchFrom('/token', /^client:alice of /);
    await page.fill('#signaling-url', WS_URL);
    await page.click('#register');
    await waitText(page, 'registration-state', /^registered$/);
    await page.close();
    // Closing the page unregisters (pagehide) or drops the connection: either way the binding goes.
    await waitUntil(async () => (await bindings()).length === 0, 5000, 'binding removed when the page closed');
  });

  it('refreshes a token from the token URL before it expires and registers again with the new one', async () => {
    const page = await openPage();
    await page.fill('#token-url', `http://${TOKEN_SERVER}:${(tokenServer.address() as { port: number }).port}/short`);
    await page.click('#fetch-token');
    await waitText(page, 'token-info', /expires in (19|20) s/);
    await page.fill('#signaling-url', WS_URL);
    await page.click('#register');
    await waitText(page, 'registration-state', /^registered$/);
    expect(presented.slice(-1)).toEqual([shortLived[0]]);
    // Refreshed halfway through its 20 s, then a REGISTER carries the new token.
    await waitText(page, 'token-info', /^token refreshed: client:alice of /, 15_000);
    expect(shortLived.length).toBe(2);
    expect(await page.inputValue('#token')).toBe(shortLived[1]);
    // The WebSocket URL still carries the first token: the header brings the new one.
    await waitUntil(() => presented.includes(shortLived[1]!), 5000, 'a REGISTER with the refreshed token');
    expect(await text(page, 'registration-state')).toBe('registered');
    await page.click('#unregister');
    await waitText(page, 'registration-state', /^unregistered$/);
    await page.close();
  });

  it('places a call with the fake microphone and shows how the node answered it', async () => {
    // No call path for clients is on main yet: the node refuses the INVITE, and the page must say so and be ready again.
    const page = await openPage();
    await page.fill('#token', aliceToken);
    await page.fill('#signaling-url', WS_URL);
    await page.click('#register');
    await waitText(page, 'registration-state', /^registered$/);
    await page.fill('#dial', 'nobody');
    await page.click('#call');
    expect(await text(page, 'error')).toContain('neither a phone number');
    await page.fill('#dial', 'client:bob');
    await page.click('#call');
    await waitText(page, 'call-state', /^ended$/);
    expect(await text(page, 'call-detail')).toMatch(/^call failed: .*\b[3-6]\d\d\b/);
    expect(await page.isDisabled('#call')).toBe(false);
    expect(await page.isDisabled('#hangup')).toBe(true);
    expect(await page.isDisabled('#mute')).toBe(true);
    expect(await text(page, 'registration-state')).toBe('registered');
    await page.click('#unregister');
    await page.close();
  });

  it('ran without page errors', () => {
    expect(pageErrors).toEqual([]);
  });
});
