import { describe, expect, it } from 'vitest';
import { pageMeta, pageOffset, PagingQuery } from '../../../../control-plane/api/paging.js';

describe('paging', () => {
  it('defaults to page 0 of 50 and validates bounds', () => {
    expect(PagingQuery.parse({})).toEqual({ PageSize: 50, Page: 0 });
    expect(PagingQuery.safeParse({ PageSize: '0' }).success).toBe(false);
    expect(PagingQuery.safeParse({ PageSize: '1001' }).success).toBe(false);
    expect(PagingQuery.safeParse({ Page: '-1' }).success).toBe(false);
    expect(PagingQuery.safeParse({ PageToken: 'PAxyz' }).success).toBe(false);
  });
  it('takes the offset from PageToken when present', () => {
    expect(pageOffset({ Page: 2, PageSize: 10 })).toBe(20);
    expect(pageOffset({ Page: 0, PageSize: 10, PageToken: 'PT30' })).toBe(30);
  });
  it('builds links that keep filters and replace paging', () => {
    const m = pageMeta('/2010-04-01/Accounts/AC1/Calls.json', 'http://x/2010-04-01/Accounts/AC1/Calls.json?To=%2B1&Page=1&PageSize=2', { Page: 1, PageSize: 2 }, 2, true);
    expect(m).toMatchObject({ page: 1, page_size: 2, start: 2, end: 3 });
    expect(m.first_page_uri).toBe('/2010-04-01/Accounts/AC1/Calls.json?To=%2B1&PageSize=2&Page=0');
    expect(m.next_page_uri).toBe('/2010-04-01/Accounts/AC1/Calls.json?To=%2B1&PageSize=2&Page=2&PageToken=PT4');
    expect(m.previous_page_uri).toBe('/2010-04-01/Accounts/AC1/Calls.json?To=%2B1&PageSize=2&Page=0&PageToken=PT0');
    const last = pageMeta('/l.json', 'http://x/l.json', { Page: 0, PageSize: 5 }, 0, false);
    expect(last).toMatchObject({ next_page_uri: null, previous_page_uri: null, start: 0, end: 0 });
  });
});
