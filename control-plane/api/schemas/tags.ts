/**
 * The `Tags` parameter (our extension) of Applications, IncomingPhoneNumbers,
 * Calls and Trackers: repeated (`Tags=a&Tags=b`) or comma/space separated
 * (`Tags=a,b`), each `[a-z0-9_-]{1,32}`, at most 10; duplicates collapse and
 * the stored list is sorted. On an update an empty `Tags=` clears them.
 */
import { z } from '@hono/zod-openapi';
import { MAX_TAGS, normalizeTags, TAG_PATTERN } from '../../../regions/store/tags.js';

export const TagsField = z
  .preprocess((v) => {
    const list: unknown[] | undefined = Array.isArray(v) ? v : v === undefined ? undefined : [v];
    return list?.flatMap((s) => (typeof s === 'string' ? s.split(/[\s,]+/).filter((x) => x !== '') : [s]));
  }, z.array(z.string().regex(TAG_PATTERN, 'each tag is 1-32 characters of a-z, 0-9, _ and -')).max(MAX_TAGS, `at most ${MAX_TAGS} tags`))
  .transform((tags) => normalizeTags(tags))
  .openapi({
    type: 'array',
    items: { type: 'string', pattern: TAG_PATTERN.source },
    maxItems: MAX_TAGS,
    description: `Extension: up to ${MAX_TAGS} tags ([a-z0-9_-]{1,32}), repeated (Tags=a&Tags=b) or comma-separated (Tags=a,b).`,
  });

export const TagsSchema = z.array(z.string()).openapi({ description: 'Extension: the tags, sorted' });
