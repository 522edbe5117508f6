/** The pure parts of the etcd gateway client: prefix ranges, int64 fields, validated key-values. */
import { describe, expect, it } from 'vitest';
import { isMeshError } from '../../../../regions/core/errors.js';
import { EtcdHttp, base64Decode, base64Encode, int64, prefixRangeEnd, readKv } from '../../../../regions/discovery/etcd-http.js';

describe('etcd gateway helpers', () => {
  it('computes the range end of a prefix (last byte + 1, carrying over 0xff)', () => {
    expect(base64Decode(prefixRangeEnd('mesh/disc/svc/media/'))).toBe('mesh/disc/svc/media0');
    expect(Buffer.from(prefixRangeEnd('a\u00ff'), 'base64')).toEqual(Buffer.from([0x61, 0xc3, 0xc0]));
    expect(Buffer.from(prefixRangeEnd('a'), 'base64')).toEqual(Buffer.from('b'));
  });

  it('keeps int64 fields exact (a lease ID does not fit in a double) and refuses malformed ones', () => {
    expect(int64('7668682718823223557', 'lease')).toBe(7668682718823223557n);
    expect(int64(undefined, 'TTL')).toBe(0n);
    expect(int64(5, 'TTL')).toBe(5n);
    for (const bad of ['12a', '', 1.5, {}, '1'.repeat(30)]) expect(() => int64(bad, 'x')).toThrow(/malformed x/);
  });

  it('reads a key-value and rejects what is not one', () => {
    const kv = readKv({ key: base64Encode('k/1'), value: base64Encode('{"a":1}'), lease: '7668682718823223557', mod_revision: '42' });
    expect(kv).toEqual({ key: 'k/1', value: '{"a":1}', lease: '7668682718823223557', modRevision: 42n });
    // A deleted key comes without value or lease.
    expect(readKv({ key: base64Encode('k/1'), mod_revision: '43' })).toEqual({ key: 'k/1', value: '', lease: '0', modRevision: 43n });
    for (const bad of [null, 'x', {}, { key: 1 }, { key: 'aw==', value: 3 }, { key: 'aw==', lease: 'x' }]) expect(readKv(bad)).toBeUndefined();
  });

  it('refuses endpoints that are not http[s] URLs', () => {
    expect(() => new EtcdHttp({ endpoints: [], requestTimeoutMs: 100, maxResponseBytes: 1000 })).toThrow(/at least one endpoint/);
    try {
      new EtcdHttp({ endpoints: ['ftp://127.0.0.1:2379'], requestTimeoutMs: 100, maxResponseBytes: 1000 });
      expect.unreachable();
    } catch (e) {
      expect(isMeshError(e, 'CONFIG_INVALID')).toBe(true);
    }
  });
});
