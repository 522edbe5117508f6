/**
 * The command consumer against real Redis: commands reach exactly one
 * handler, bad ones are dropped, and a consumer whose stream (and group)
 * disappeared — Redis restarted without its data — recreates them and goes on.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../regions/core/log.js';
import { keys } from '../../../../regions/store/keys.js';
import type { CallCommand } from '../../../../regions/store/schema.js';
import { CommandConsumer } from '../../../../signaling/calls/command-consumer.js';
import { waitFor } from '../../../support/wait.js';
import { TEST_REDIS_URL } from '../../global-setup.js';

const PREFIX = 'it-cmd-consumer:';
const SID = `CA${'ab'.repeat(16)}`;

describe('CommandConsumer', () => {
  let redis: Redis;
  let consumer: CommandConsumer;
  const got: CallCommand[] = [];

  beforeAll(async () => {
    redis = new Redis(TEST_REDIS_URL);
    await redis.del(keys(PREFIX).commands('test-region'));
    consumer = new CommandConsumer(new Redis(TEST_REDIS_URL), async (c) => void got.push(c), silentLogger, { region: 'test-region', nodeId: 'n1', keyPrefix: PREFIX, blockMs: 200 });
    consumer.start();
    // The group exists once the first read is under way.
    await waitFor(async () => ((await redis.exists(keys(PREFIX).commands('test-region'))) === 1 ? true : undefined), 5000, 'stream created');
  });
  afterAll(async () => {
    await consumer.close();
    redis.disconnect();
  });

  const send = (cmd: unknown): Promise<unknown> => redis.xadd(keys(PREFIX).commands('test-region'), '*', 'cmd', JSON.stringify(cmd));

  it('hands commands over and drops malformed ones', async () => {
    await send({ type: 'hangup', callSid: 'not-a-sid' });
    await send({ type: 'hangup', callSid: SID });
    await waitFor(() => (got.length === 1 ? true : undefined), 5000, 'command handled');
    expect(got[0]).toEqual({ type: 'hangup', callSid: SID });
    expect(consumer.rejected).toBe(1);
  });

  it('recreates a stream and group that disappeared, and receives commands again', async () => {
    await redis.del(keys(PREFIX).commands('test-region'));
    // Until the consumer has recreated its group, a command would be lost: wait for the group.
    await waitFor(
      async () => {
        try {
          const groups = (await redis.xinfo('GROUPS', keys(PREFIX).commands('test-region'))) as unknown[];
          return groups.length > 0 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      10_000,
      'group recreated',
    );
    await send({ type: 'redirect', callSid: SID, url: 'http://127.0.0.1/x', method: 'GET' });
    await waitFor(() => (got.length === 2 ? true : undefined), 5000, 'command after recreation');
    expect(got[1]).toEqual({ type: 'redirect', callSid: SID, url: 'http://127.0.0.1/x', method: 'GET' });
  });
});
