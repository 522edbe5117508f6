import { describe, expect, it } from 'vitest';
import { servingProcess } from '../../../infra/control-plane.js';

describe('servingProcess (kill drill target)', () => {
  const pids = { 'media-1': 10, 'sig-1#1': 20, 'sig-1#2': 21, 'sig-10#1': 30 };
  it('a node with its own entry is that process', async () => {
    expect(await servingProcess('media-1', pids, async () => null)).toEqual({ process: 'media-1', pid: 10 });
  });
  it('a signaling node run as two processes: the one holding the lease', async () => {
    expect(await servingProcess('sig-1', pids, async () => 'h:21:0123abcd')).toEqual({ process: 'sig-1#2', pid: 21 });
    expect(await servingProcess('sig-1', pids, async () => 'h:20:0123abcd')).toEqual({ process: 'sig-1#1', pid: 20 });
  });
  it('never a pid outside the table, whatever the lease says; nobody holding it is a conflict', async () => {
    await expect(servingProcess('sig-1', pids, async () => 'h:30:0123abcd')).rejects.toMatchObject({ code: 'CONFLICT', retryAfter: 3 });
    await expect(servingProcess('sig-1', pids, async () => null)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(servingProcess('sig-2', pids, async () => null)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
