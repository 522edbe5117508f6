import { describe, expect, it } from 'vitest';
import { DiscoveryErrorLog } from '../../../infra/discovery.js';
import { createLogger } from '../../../regions/core/log.js';
import { MeshError } from '../../../regions/core/errors.js';

describe('DiscoveryErrorLog', () => {
  it('logs the first failure of an outage and the recovery, nothing in between', () => {
    const lines: { level: string; msg: string; failuresNotLogged?: number }[] = [];
    const errors = new DiscoveryErrorLog(createLogger('debug', {}, (l) => lines.push(JSON.parse(l))), { discovery: 'redis' });
    errors.ok();
    for (let i = 0; i < 50; i++) errors.error(new MeshError('SERVICE_UNAVAILABLE', 'connect ECONNREFUSED'), 'heartbeat m1');
    expect(errors.isFailing).toBe(true);
    errors.ok();
    errors.ok();
    errors.error(new MeshError('UPSTREAM_TIMEOUT', 'timed out'), 'list media');
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual([
      'warn discovery unreachable; serving with the last known view and retrying with backoff',
      'info discovery reachable again',
      'warn discovery unreachable; serving with the last known view and retrying with backoff',
    ]);
    expect(lines[1]?.failuresNotLogged).toBe(49);
  });
});
