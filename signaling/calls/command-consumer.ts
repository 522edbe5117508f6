/**
 * Consumes the control plane's call commands for this region from a Redis
 * stream, as one consumer of the region's consumer group: each command is
 * handled by exactly one signaling node of the region, and a command is
 * acknowledged only after its handler returned. A dedicated connection is
 * used because XREADGROUP blocks.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../../regions/core/log.js';
import { keys } from '../../regions/store/keys.js';
import type { CallCommand } from '../../regions/store/schema.js';

export interface CommandConsumerOptions {
  region: string;
  nodeId: string;
  keyPrefix: string;
  /** How long one XREADGROUP blocks. Default 1000 ms (also bounds close()). */
  blockMs?: number;
  /** Commands fetched per read. Default 32. */
  batch?: number;
}

const GROUP = 'signaling';

export class CommandConsumer {
  private running = false;
  private loop: Promise<void> | undefined;
  handled = 0;
  rejected = 0;

  constructor(
    private readonly redis: Redis,
    private readonly handle: (cmd: CallCommand) => Promise<void>,
    private readonly log: Logger,
    private readonly opts: CommandConsumerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const stream = keys(this.opts.keyPrefix).commands(this.opts.region);
    let backoff = 100;
    while (this.running) {
      try {
        await this.ensureGroup(stream);
        const res = (await this.redis.xreadgroup(
          'GROUP', GROUP, this.opts.nodeId,
          'COUNT', this.opts.batch ?? 32,
          'BLOCK', this.opts.blockMs ?? 1000,
          'STREAMS', stream, '>',
        )) as [string, [string, string[]][]][] | null;
        backoff = 100;
        if (res === null) continue;
        for (const [, entries] of res) {
          for (const [id, fields] of entries) {
            await this.dispatch(fields);
            await this.redis.xack(stream, GROUP, id);
          }
        }
      } catch (e) {
        if (!this.running) break;
        // The stream or its group is gone (Redis restarted without its data, or the key was deleted):
        // create them again on the next pass instead of retrying a read that cannot succeed.
        if (/NOGROUP|no longer exists/.test(String((e as Error).message))) this.groupReady = false;
        this.log.warn('command stream read failed; retrying', { error: e as Error, backoffMs: backoff });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }

  private groupReady = false;
  private async ensureGroup(stream: string): Promise<void> {
    if (this.groupReady) return;
    try {
      await this.redis.xgroup('CREATE', stream, GROUP, '$', 'MKSTREAM');
    } catch (e) {
      if (!String((e as Error).message).includes('BUSYGROUP')) throw e;
    }
    this.groupReady = true;
  }

  /** Parse and run one command; a bad command is logged and dropped (acknowledged), never retried forever. */
  private async dispatch(fields: string[]): Promise<void> {
    const i = fields.indexOf('cmd');
    const raw = i >= 0 ? fields[i + 1] : undefined;
    let cmd: CallCommand;
    try {
      cmd = parseCommand(raw);
    } catch (e) {
      this.rejected++;
      this.log.warn('bad call command dropped', { raw: raw?.slice(0, 200), error: e as Error });
      return;
    }
    try {
      await this.handle(cmd);
      this.handled++;
    } catch (e) {
      this.log.error('call command failed', { cmd, error: e as Error });
    }
  }

  /** Stop reading; resolves when the current read returned. Idempotent. */
  async close(): Promise<void> {
    this.running = false;
    this.redis.disconnect();
    await this.loop?.catch(() => {});
  }
}

export function parseCommand(raw: string | undefined): CallCommand {
  if (raw === undefined || raw.length > 8192) throw new Error('missing or oversized cmd field');
  const v = JSON.parse(raw) as Record<string, unknown>;
  const sid = v.callSid;
  if (typeof sid !== 'string' || !/^CA[0-9a-f]{32}$/.test(sid)) throw new Error('callSid must be CA + 32 hex');
  switch (v.type) {
    case 'originate':
    case 'hangup':
      return { type: v.type, callSid: sid };
    case 'redirect': {
      if (typeof v.url !== 'string' || !/^https?:\/\//.test(v.url)) throw new Error('redirect url must be http(s)');
      const method = v.method === 'GET' ? 'GET' : 'POST';
      return { type: 'redirect', callSid: sid, url: v.url, method };
    }
    default:
      throw new Error(`unknown command type ${String(v.type)}`);
  }
}
