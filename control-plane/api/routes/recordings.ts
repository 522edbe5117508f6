/**
 * Recordings: written by the media side (regions/store/recording-sink.ts),
 * listed, fetched and deleted here, their audio served as `{Sid}.wav`. Also
 * listed per call under Calls/{CallSid}/Recordings.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { RECORDING_MEDIA_EXTENSION, type RecordingRecord } from '../../../regions/store/recordings.js';
import { deleteRecordingMedia, openRecordingMedia } from '../../store/recording-media.js';
import { apiError, notFound } from '../errors.js';
import { pageMeta, pageOffset, PagingQuery } from '../paging.js';
import { AccountAndSidParams, AccountSidParam, accountUri, API_VERSION, errorResponses, json } from '../schemas/common.js';
import { ListRecordingsQuery, RecordingListSchema, RecordingSchema, renderRecording, renderRecordingList } from '../schemas/recordings.js';
import type { TenantEnv } from '../types.js';

const tags = ['Recordings'];
const BASE = `/${API_VERSION}/Accounts/{AccountSid}/Recordings`;
const Query = ListRecordingsQuery.extend(PagingQuery.shape);

async function listRecordings(c: Context<TenantEnv>, q: z.infer<typeof Query>, listPath: string) {
  const { CallSid, DateCreated, ...paging } = q;
  const account = c.get('target');
  const filter =
    CallSid === undefined && DateCreated === undefined
      ? undefined
      : (r: RecordingRecord) =>
          (CallSid === undefined || r.callSid === CallSid) &&
          (DateCreated === undefined || new Date(Date.parse(r.dateCreated)).toISOString().slice(0, 10) === DateCreated);
  const page = await c.get('api').stores.recordings.list(account.sid, { offset: pageOffset(paging), size: paging.PageSize, ...(filter ? { filter } : {}) });
  return renderRecordingList(page.items, pageMeta(listPath, c.req.url, paging, page.items.length, page.hasMore));
}

const MEDIA_FILE = /^(.+)\.(wav|mp3)$/;

/**
 * The audio of a recording: `{Sid}.wav` (audio/wav from the stored file);
 * `{Sid}.mp3` answers 415, only WAV is stored. It shares the `{Sid}` path
 * (registered first, passing anything without a media extension on to the
 * JSON route): a separate pattern with a regular expression would make hono
 * fall back from its RegExpRouter to the slower TrieRouter for every route.
 * Documented separately (registerPath), since the path is not a zod route.
 */
function registerRecordingMediaRoute(app: OpenAPIHono<TenantEnv>): void {
  app.get(`/${API_VERSION}/Accounts/:AccountSid/Recordings/:Sid`, async (c, next) => {
    const file = MEDIA_FILE.exec(c.req.param('Sid'));
    if (file === null) return next();
    const [, sid = '', ext = ''] = file;
    const record = await c.get('api').stores.recordings.getOwned(c.get('target').sid, sid);
    if (record === undefined) throw notFound(`Recording ${sid}`);
    if (`.${ext}` !== RECORDING_MEDIA_EXTENSION) {
      throw apiError('UNSUPPORTED_MEDIA_TYPE', `Recording media is available as .wav only: request ${accountUri(record.accountSid)}/Recordings/${sid}.wav`, 20415);
    }
    const media = await openRecordingMedia(record);
    if (media === undefined) throw notFound(`Media of recording ${sid}`);
    const headers = { 'Content-Type': 'audio/wav', 'Content-Length': String(media.bytes), 'Cache-Control': 'private, max-age=3600' };
    if (c.req.method === 'HEAD') {
      // hono drops the body of a HEAD answer unread: close the file now rather than at garbage collection.
      await media.stream.cancel();
      return c.body(null, 200, headers);
    }
    return c.body(media.stream, 200, headers);
  });

  const params = AccountSidParam.extend({ Sid: z.string().openapi({ param: { name: 'Sid', in: 'path' }, example: 'RE0123456789abcdef0123456789abcdef' }) });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: `${BASE}/{Sid}.wav`,
    tags,
    summary: 'Fetch the audio of a recording (8 kHz mono 16-bit WAV)',
    request: { params },
    responses: {
      200: { description: 'The audio', content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } } },
      ...errorResponses,
    },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: `${BASE}/{Sid}.mp3`,
    tags,
    summary: 'Not available: recordings are stored as WAV only (415)',
    request: { params },
    responses: { ...errorResponses, 415: { ...errorResponses[415], description: 'Only .wav is available' } },
  });
}

export function registerRecordingRoutes(app: OpenAPIHono<TenantEnv>): void {
  registerRecordingMediaRoute(app);

  app.openapi(
    createRoute({
      method: 'get',
      path: BASE,
      tags,
      summary: 'List recordings',
      request: { params: AccountSidParam, query: Query },
      responses: { 200: json(RecordingListSchema, 'A page of recordings'), ...errorResponses },
    }),
    async (c) => c.json(await listRecordings(c, c.req.valid('query'), `${accountUri(c.get('target').sid)}/Recordings.json`), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `/${API_VERSION}/Accounts/{AccountSid}/Calls/{CallSid}/Recordings`,
      tags,
      summary: 'List the recordings of one call',
      request: { params: AccountSidParam.extend({ CallSid: z.string().openapi({ param: { name: 'CallSid', in: 'path' } }) }), query: Query },
      responses: { 200: json(RecordingListSchema, 'A page of recordings'), ...errorResponses },
    }),
    async (c) => {
      const { CallSid } = c.req.valid('param');
      const account = c.get('target');
      if ((await c.get('api').stores.calls.getOwned(account.sid, CallSid)) === undefined) throw notFound(`Call ${CallSid}`);
      const path = `${accountUri(account.sid)}/Calls/${CallSid}/Recordings.json`;
      return c.json(await listRecordings(c, { ...c.req.valid('query'), CallSid }, path), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Fetch a recording',
      request: { params: AccountAndSidParams },
      responses: { 200: json(RecordingSchema, 'The recording'), ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const record = await c.get('api').stores.recordings.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Recording ${Sid}`);
      return c.json(renderRecording(record), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: `${BASE}/{Sid}`,
      tags,
      summary: 'Delete a recording',
      request: { params: AccountAndSidParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      const { Sid } = c.req.valid('param');
      const { stores } = c.get('api');
      const record = await stores.recordings.getOwned(c.get('target').sid, Sid);
      if (record === undefined) throw notFound(`Recording ${Sid}`);
      await stores.recordings.remove(record);
      await deleteRecordingMedia(record);
      return c.body(null, 204);
    },
  );
}
