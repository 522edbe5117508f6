/**
 * Plain, serialisable dialog state. The B2BUA stores live dialogs in Redis
 * so that a standby signaling node can load them and keep the call going
 * (DESIGN.md, "Failure is normal"); this is the stored shape.
 */
import { z } from 'zod';
import { MeshError } from '../../../regions/core/errors.js';

/** Bumped when the stored shape changes incompatibly. */
export const DIALOG_JSON_VERSION = 1;

/** Largest CSeq number (RFC 3261 §8.1.1.5: less than 2**31). */
export const MAX_CSEQ = 2 ** 31 - 1;

/** Bound on stored routes, so a bad record cannot make us allocate without limit. */
const MAX_ROUTES = 64;
const MAX_TEXT = 4096;

const text = z.string().max(MAX_TEXT);
const seq = z.number().int().min(0).max(MAX_CSEQ);

const dialogJsonSchema = z.object({
  v: z.literal(DIALOG_JSON_VERSION),
  role: z.enum(['uac', 'uas']),
  state: z.enum(['early', 'confirmed', 'terminated']),
  callId: text.min(1),
  localTag: text.min(1),
  remoteTag: text,
  localSeq: seq.nullable(),
  remoteSeq: seq.nullable(),
  localUri: text.min(1),
  remoteUri: text.min(1),
  remoteTarget: text.min(1),
  routeSet: z.array(text.min(1)).max(MAX_ROUTES),
  secure: z.boolean(),
  localContact: text.min(1).nullable(),
}).strict();

/** Stored dialog state; `null` stands for "empty" (§12: an unset sequence number). */
export type DialogJSON = z.infer<typeof dialogJsonSchema>;

/** Validate stored state; throws MeshError('BAD_REQUEST') naming the bad field. */
export function parseDialogJSON(input: unknown): DialogJSON {
  const r = dialogJsonSchema.safeParse(input);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue === undefined ? '' : `${issue.path.join('.') || '(root)'}: ${issue.message}`;
    throw new MeshError('BAD_REQUEST', `invalid stored dialog: ${where}`);
  }
  return r.data;
}
