/**
 * The `lookup` for our UDP sockets. Node's dgram resolves the address of every
 * unconnected send through `dns.lookup`, which answers an IP literal only on the
 * next tick: one deferred callback and its allocations per datagram, eight or more
 * per call through the B2BUA. Our destinations are literals (parsed Via, Contact
 * and configured addresses), so they are answered at once, and the send goes out
 * in the same tick; a name still goes to `dns.lookup`.
 */
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

export function literalLookup(hostname: string, options: number | LookupOneOptions, callback: LookupCallback): void {
  const family = isIP(hostname);
  if (family !== 0) {
    callback(null, hostname, family);
    return;
  }
  dnsLookup(hostname, typeof options === 'number' ? { family: options } : options, callback);
}
