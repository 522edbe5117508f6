/**
 * Paging in the 2010-04-01 shape: `PageSize` (1..1000, default 50), `Page`
 * (0-based) and `PageToken`; responses carry `page`, `page_size`, `start`,
 * `end`, `uri`, `first_page_uri`, `next_page_uri`, `previous_page_uri`. The
 * twilio helper library's list/each/page follow `next_page_uri` until null.
 */
import { z } from '@hono/zod-openapi';

/** A non-negative integer query parameter (query values arrive as strings). */
function intParam(min: number, max: number, fallback: number) {
  return z
    .string()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min).max(max))
    .optional()
    .transform((v) => v ?? fallback);
}

export const PagingQuery = z.object({
  PageSize: intParam(1, 1000, 50),
  Page: intParam(0, 100_000, 0),
  /** Opaque; ours encodes the offset of the page (`PT<offset>`). */
  PageToken: z.string().regex(/^PT\d{1,9}$/, 'is not a token this server issued').optional(),
});

export type Paging = z.infer<typeof PagingQuery>;

export function pageOffset(p: Paging): number {
  return p.PageToken === undefined ? p.Page * p.PageSize : Number(p.PageToken.slice(2));
}

export const PageMetaSchema = {
  page: z.number(),
  page_size: z.number(),
  start: z.number(),
  end: z.number(),
  uri: z.string(),
  first_page_uri: z.string(),
  next_page_uri: z.string().nullable(),
  previous_page_uri: z.string().nullable(),
};

export interface PageMeta {
  page: number;
  page_size: number;
  start: number;
  end: number;
  uri: string;
  first_page_uri: string;
  next_page_uri: string | null;
  previous_page_uri: string | null;
}

/**
 * Page metadata for a list at `listUri` (path with `.json`). `requestUrl`'s
 * other query parameters (filters) are kept in every link.
 */
export function pageMeta(listUri: string, requestUrl: string, p: Paging, count: number, hasMore: boolean): PageMeta {
  const filters = new URL(requestUrl).searchParams;
  for (const k of ['Page', 'PageSize', 'PageToken']) filters.delete(k);
  const link = (page: number, withToken: boolean): string => {
    const q = new URLSearchParams(filters);
    q.set('PageSize', String(p.PageSize));
    q.set('Page', String(page));
    if (withToken) q.set('PageToken', `PT${page * p.PageSize}`);
    return `${listUri}?${q.toString()}`;
  };
  const start = pageOffset(p);
  const page = Math.floor(start / p.PageSize);
  return {
    page,
    page_size: p.PageSize,
    start,
    end: count === 0 ? start : start + count - 1,
    uri: link(page, p.PageToken !== undefined),
    first_page_uri: link(0, false),
    next_page_uri: hasMore ? link(page + 1, true) : null,
    previous_page_uri: page > 0 ? link(page - 1, true) : null,
  };
}
