/**
 * CallControl over Redis streams: each region's signaling nodes consume
 * `cmd:<region>` (field `cmd` = CallCommand JSON). The stream is capped
 * (MAXLEN ~ 10000) so a region that is down cannot grow it without bound.
 */
import type { Redis } from 'ioredis';
import { MeshError } from '../../regions/core/errors.js';
import { keys } from '../../regions/store/keys.js';
import type { CallCommand } from '../../regions/store/schema.js';
import type { CallControl } from './types.js';

export const COMMAND_STREAM_MAXLEN = 10_000;

export class RedisCallControl implements CallControl {
  private readonly k;
  constructor(
    private readonly redis: Redis,
    prefix: string,
  ) {
    this.k = keys(prefix);
  }

  async send(region: string, cmd: CallCommand): Promise<void> {
    const id = await this.redis.xadd(this.k.commands(region), 'MAXLEN', '~', COMMAND_STREAM_MAXLEN, '*', 'cmd', JSON.stringify(cmd));
    if (id === null) throw new MeshError('SERVICE_UNAVAILABLE', `command stream of ${region} refused ${cmd.type}`);
  }
}
