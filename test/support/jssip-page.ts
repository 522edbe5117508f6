/**
 * A JsSIP phone in a Chromium page, for browser tests (issue 13). `jssipBundle`
 * bundles node_modules/jssip with esbuild; `servePhonePage` adds the page and
 * the bundle to a Hono app. The `*InPage` functions run inside the page through
 * playwright's `page.evaluate` (self-contained: serialized, no imports); the
 * phone lives on `globalThis.phone`.
 *
 * Measuring: headless getStats audio levels stay 0, so the remote track is fed
 * to a WebAudio analyser (its peak sample) next to getStats' packet counts,
 * codec, selected candidate pair and DTLS state.
 */
import { build } from 'esbuild';
import type { Hono } from 'hono';

export async function jssipBundle(): Promise<string> {
  const out = await build({ entryPoints: ['node_modules/jssip/lib/JsSIP.js'], bundle: true, format: 'iife', globalName: 'JsSIP', platform: 'browser', write: false, logLevel: 'error' });
  return out.outputFiles[0]!.text;
}

/** GET /phone.html (loads /jssip.js) on `app`. */
export function servePhonePage(app: Hono, jssip: string): void {
  app.get('/phone.html', (c) => c.html('<!doctype html><html><head><script src="/jssip.js"></script></head><body>phone</body></html>'));
  app.get('/jssip.js', (c) => c.body(jssip, 200, { 'Content-Type': 'text/javascript' }));
}

/** 8 kHz 16-bit mono WAV of a sine tone. */
export function toneWav(hz: number, seconds: number): Buffer {
  const rate = 8000;
  const n = rate * seconds;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(rate, 24);
  b.writeUInt32LE(rate * 2, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++) b.writeInt16LE(Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  return b;
}

export interface PageMeasure {
  packetsReceived: number;
  packetsSent: number;
  codec: string | undefined;
  dtlsState: string | undefined;
  pairState: string | undefined;
  /** Largest absolute sample on the remote track (0..1). */
  peak: number;
  /** 50 ms looks with a sample above 0.05. */
  loudFrames: number;
  /** Transport of the remote description's m=audio line. */
  remoteProto: string | undefined;
  /** How long ICE + DTLS took to be ready when measuring began (ms; 10000+ = never). */
  connectMs: number;
}

/**
 * Register (token in the WebSocket URL); with `answer`, auto-answer the first incoming
 * call (`globalThis.phone.answered` resolves once it is confirmed). Resolves once registered.
 */
export async function registerInPage(a: { wsUrl: string; sipUri: string; answer: boolean }): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const g = globalThis as any;
  const J = g.JsSIP;
  const ua = new J.UA({ sockets: [new J.WebSocketInterface(a.wsUrl)], uri: a.sipUri, register: true, register_expires: 300, session_timers: false });
  const phone: Record<string, unknown> = { ua, ended: [] as string[] };
  g.phone = phone;
  if (a.answer) {
    phone.answered = new Promise<{ callSid: string | undefined }>((resolve, reject) => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      ua.on('newRTCSession', (e: { originator: string; session: any; request: { getHeader(n: string): string | undefined } }) => {
        if (e.originator !== 'remote' || phone.session !== undefined) return;
        phone.session = e.session;
        phone.rang = true;
        e.session.on('confirmed', () => resolve({ callSid: e.request.getHeader('X-Mesh-Call-Sid') }));
        e.session.on('failed', (f: { cause: string }) => reject(new Error(`answered call failed: ${f.cause}`)));
        e.session.on('ended', (f: { originator: string; cause: string }) => (phone.ended as string[]).push(`${f.originator}:${f.cause}`));
        e.session.answer({ mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } });
      });
    });
  }
  await new Promise<void>((resolve, reject) => {
    ua.on('registered', () => resolve());
    ua.on('registrationFailed', (e: { cause: string }) => reject(new Error(`registration failed: ${e.cause}`)));
    ua.start();
  });
}

/** Call `target` from the registered phone; with `opusOnly`, strip every codec but Opus from the offer. Resolves when confirmed. */
export async function callInPage(a: { target: string; opusOnly: boolean }): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const phone = (globalThis as any).phone;
  const session = phone.ua.call(a.target, { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } });
  phone.session = session;
  if (a.opusOnly) {
    session.on('sdp', (e: { originator: string; type: string; sdp: string }) => {
      if (e.originator !== 'local' || e.type !== 'offer') return;
      const lines = e.sdp.split('\r\n');
      const opus = lines.map((l) => /^a=rtpmap:(\d+) opus\//i.exec(l)?.[1]).find((x) => x !== undefined)!;
      e.sdp = lines
        .filter((l) => !/^a=(rtpmap|fmtp|rtcp-fb):(\d+)/.test(l) || new RegExp(`^a=(rtpmap|fmtp|rtcp-fb):${opus}( |$)`).test(l))
        .map((l) => (l.startsWith('m=audio ') ? `${l.split(' ').slice(0, 3).join(' ')} ${opus}` : l))
        .join('\r\n');
    });
  }
  await new Promise<void>((resolve, reject) => {
    session.on('confirmed', () => resolve());
    session.on('failed', (e: { cause: string; message?: { status_code?: number; reason_phrase?: string } }) =>
      reject(new Error(`call failed: ${e.cause} ${e.message?.status_code ?? ''} ${e.message?.reason_phrase ?? ''}`)),
    );
  });
}

/** Wait (bounded) for the auto-answered call to be confirmed. */
export async function answeredInPage(timeoutMs: number): Promise<{ callSid: string | undefined }> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const phone = (globalThis as any).phone as { answered: Promise<{ callSid: string | undefined }> };
  return Promise.race([phone.answered, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no call answered in time')), timeoutMs))]);
}

/**
 * Wait (at most 10 s) until ICE has a succeeded pair and DTLS is connected, so a loaded machine's
 * slower checks (or a re-offer's new checks) are not read as failure; then listen to the call's
 * remote track for `listenMs` and read its stats (the call stays up). `connectMs` says how long the
 * wait took; a call that never connects returns its last states and fails the caller's checks.
 */
export async function measureInPage(listenMs: number): Promise<PageMeasure> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const g = globalThis as any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const pc: any = g.phone.session.connection;
  const started = performance.now();
  for (;;) {
    const s: Map<string, Record<string, unknown>> = await pc.getStats();
    let ready = false;
    s.forEach((t) => {
      if (t.type === 'transport' && t.dtlsState === 'connected') ready = (s.get(t.selectedCandidatePairId as string) as { state?: string } | undefined)?.state === 'succeeded';
    });
    if (ready || performance.now() - started > 10_000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const connectMs = Math.round(performance.now() - started);
  const stream = new g.MediaStream([pc.getReceivers()[0].track]);
  // Chromium feeds a remote WebRTC track to WebAudio only while a media element plays it.
  const audio = new g.Audio();
  audio.muted = true;
  audio.srcObject = stream;
  void audio.play().catch(() => undefined);
  const ctx = new g.AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  let peak = 0;
  let loudFrames = 0;
  const until = performance.now() + listenMs;
  while (performance.now() < until) {
    analyser.getFloatTimeDomainData(buf);
    let m = 0;
    for (const v of buf) m = Math.max(m, Math.abs(v));
    peak = Math.max(peak, m);
    if (m > 0.05) loudFrames++;
    await new Promise((r) => setTimeout(r, 50));
  }
  const stats: Map<string, Record<string, unknown>> = await pc.getStats();
  const r = { packetsReceived: 0, packetsSent: 0, codec: undefined as string | undefined, dtlsState: undefined as string | undefined, pairState: undefined as string | undefined };
  let codecId: string | undefined;
  let pairId: string | undefined;
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      r.packetsReceived = s.packetsReceived as number;
      codecId = s.codecId as string;
    }
    if (s.type === 'outbound-rtp' && s.kind === 'audio') r.packetsSent = s.packetsSent as number;
    if (s.type === 'transport') {
      r.dtlsState = s.dtlsState as string;
      pairId = s.selectedCandidatePairId as string;
    }
  });
  if (pairId !== undefined) r.pairState = (stats.get(pairId) as { state?: string } | undefined)?.state;
  if (codecId !== undefined) r.codec = (stats.get(codecId) as { mimeType?: string } | undefined)?.mimeType;
  const remoteSdp: string = pc.remoteDescription?.sdp ?? '';
  void ctx.close();
  return { ...r, peak, loudFrames, connectMs, remoteProto: /^m=audio \d+ (\S+)/m.exec(remoteSdp)?.[1] };
}

/** Hang up the call (BYE) and stop the phone; returns how the session ended. */
export async function hangUpInPage(): Promise<string[]> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const phone = (globalThis as any).phone;
  if (phone.session !== undefined && !phone.session.isEnded()) phone.session.terminate();
  await new Promise((r) => setTimeout(r, 300));
  phone.ua.stop();
  return phone.ended as string[];
}
