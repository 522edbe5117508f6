import { describe, expect, it } from 'vitest';
import { RouteTable } from '../../../../signaling/b2bua/routes.js';

describe('RouteTable', () => {
  const t = new RouteTable([
    { prefix: '+1', destination: 'sip:10.0.0.1' },
    { prefix: '+1555', destination: 'sip:127.0.0.1:5090' },
    { prefix: '+15551', destination: 'sip:127.0.0.1:5091' },
  ]);
  it('picks the longest matching prefix', () => {
    expect(t.lookup('+15551234')?.destination).toBe('sip:127.0.0.1:5091');
    expect(t.lookup('+15559999')?.destination).toBe('sip:127.0.0.1:5090');
    expect(t.lookup('+1212')?.destination).toBe('sip:10.0.0.1');
  });
  it('returns undefined when nothing matches', () => {
    expect(t.lookup('+44')).toBeUndefined();
    expect(t.lookup('')).toBeUndefined();
  });
  it('an empty prefix is a catch-all', () => {
    expect(new RouteTable([{ prefix: '', destination: 'sip:x' }]).lookup('123')?.destination).toBe('sip:x');
  });
});
