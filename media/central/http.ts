/**
 * HTTP API of the central media service (hono):
 *
 *   PUT /branches/{callSid}/{branchId}   body: WAV; header X-Content-SHA256: <hex>
 *       201 { sha256, duration, ... }  stored
 *       200 { sha256, ... }            the same bytes were already stored (idempotent repeat)
 *       409                            checksum mismatch, or a different copy already stored
 *       413 / 415 / 400                too large / not a PCM WAV / bad ids or header
 *       optional headers: X-Branch-Start (ISO time), X-Branch-Packets, X-Branch-Lost
 *   GET /branches/{callSid}/{branchId}   { live?: metadata, upload?: metadata, recording: { source, confirmed } } or 404
 *       (recording: which copy is authoritative, see recording.ts)
 *   GET /health                          { ok: true, region }
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { isMeshError, MeshError } from '../../regions/core/errors.js';
import { assertBranchKey } from './metadata.js';
import { chooseRecording } from './recording.js';
import { readBranchMetadata, type UploadStore } from './upload-store.js';

export interface CentralHttpOptions {
  region: string;
  dataDir: string;
  uploads: UploadStore;
  /** Largest upload body. */
  maxUploadBytes: number;
}

function optionalCount(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new MeshError('BAD_REQUEST', `${name} must be a non-negative integer`);
  return n;
}

export function createCentralMediaApp(o: CentralHttpOptions): Hono {
  const app = new Hono();

  app.onError((e, c) => {
    const err = isMeshError(e) ? e : new MeshError('INTERNAL', 'internal error', { cause: e });
    return c.json({ error: err.code, message: err.message, ...(err.detail === undefined ? {} : { detail: err.detail }) }, err.httpStatus as 400);
  });

  app.get('/health', (c) => c.json({ ok: true, region: o.region }));

  app.put(
    '/branches/:callSid/:branchId',
    bodyLimit({
      maxSize: o.maxUploadBytes,
      onError: () => {
        throw new MeshError('TOO_LARGE', `upload exceeds ${o.maxUploadBytes} bytes`);
      },
    }),
    async (c) => {
      const { callSid, branchId } = c.req.param();
      assertBranchKey(callSid, branchId);
      const expected = c.req.header('X-Content-SHA256');
      if (expected === undefined) throw new MeshError('BAD_REQUEST', 'X-Content-SHA256 header is required');
      const start = c.req.header('X-Branch-Start');
      if (start !== undefined && Number.isNaN(Date.parse(start))) throw new MeshError('BAD_REQUEST', 'X-Branch-Start must be an ISO date');
      const body = Buffer.from(await c.req.arrayBuffer());
      const r = await o.uploads.put({
        callSid,
        branchId,
        body,
        expectedSha256: expected,
        start,
        packets: optionalCount(c.req.header('X-Branch-Packets'), 'X-Branch-Packets'),
        lost: optionalCount(c.req.header('X-Branch-Lost'), 'X-Branch-Lost'),
      });
      return c.json(r.metadata, r.created ? 201 : 200);
    },
  );

  app.get('/branches/:callSid/:branchId', async (c) => {
    const { callSid, branchId } = c.req.param();
    assertBranchKey(callSid, branchId);
    const [live, upload] = await Promise.all([
      readBranchMetadata(o.dataDir, callSid, branchId, 'live'),
      readBranchMetadata(o.dataDir, callSid, branchId, 'upload'),
    ]);
    const chosen = chooseRecording(live, upload);
    if (chosen === undefined) throw new MeshError('NOT_FOUND', `no recording of branch ${callSid}/${branchId}`);
    return c.json({ ...(live === undefined ? {} : { live }), ...(upload === undefined ? {} : { upload }), recording: { source: chosen.source, confirmed: chosen.confirmed } });
  });

  return app;
}
