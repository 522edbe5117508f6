/**
 * HTTP caching rules the media cache honours (RFC 9111 §5.2.2): `no-store`
 * keeps nothing, `no-cache` stores but revalidates before every use,
 * `max-age` gives the freshness lifetime (`s-maxage` wins, §5.2.2.10, since
 * this cache is shared between tenants' calls).
 */
export interface CachePolicy {
  noStore: boolean;
  noCache: boolean;
  /** Seconds; undefined when the response did not say. */
  maxAge: number | undefined;
}

export function parseCacheControl(header: string | null | undefined): CachePolicy {
  const p: CachePolicy = { noStore: false, noCache: false, maxAge: undefined };
  if (header === null || header === undefined) return p;
  let sMaxAge: number | undefined;
  for (const part of header.split(',')) {
    const [rawName, rawValue] = part.split('=', 2) as [string, string | undefined];
    const name = rawName.trim().toLowerCase();
    const value = rawValue?.trim().replace(/^"(.*)"$/, '$1');
    if (name === 'no-store') p.noStore = true;
    else if (name === 'no-cache') p.noCache = true;
    else if (name === 'max-age' || name === 's-maxage') {
      // RFC 9111 §1.2.2: delta-seconds; an invalid value makes the response stale.
      const n = value !== undefined && /^[0-9]{1,10}$/.test(value) ? Number(value) : 0;
      if (name === 'max-age') p.maxAge = n;
      else sMaxAge = n;
    }
  }
  if (sMaxAge !== undefined) p.maxAge = sMaxAge;
  return p;
}
