/**
 * Command line of `npm run drill -- <kind> <region> [<region-b>] [options]`:
 * parsed and validated here, with no I/O, so a mistake is reported (exit code
 * 2) before anything touches the running mesh.
 */
import { parseArgs } from 'node:util';

export const DRILL_KINDS = ['media-kill', 'media-drain', 'signaling-kill', 'link-cut'] as const;
export type DrillKind = (typeof DRILL_KINDS)[number];

export interface DrillOptions {
  kind: DrillKind;
  /** Where the drill acts; for link-cut the region the calls enter. */
  region: string;
  /** link-cut only: the far end of the link, where the calls are anchored. */
  peer?: string;
  /** Node to kill or drain; default: the region's first node of the kind (chosen by the runner). */
  nodeId?: string;
  /** Calls per second offered by SIPp. */
  rate: number;
  /** Seconds the drill is held: link-cut restores after it; kill and drain are not undone, the phase is only observed. */
  durationS: number;
  /** Seconds of load before the drill. */
  warmupS: number;
  /** Seconds of load after the drill phase. */
  afterS: number;
  /** How long each SIPp call stays up after its ACK, ms. */
  holdMs: number;
  /** Calls with an RTP probe that measure the media gap (0: none). */
  probes: number;
  /** Keep the scratch folder (SIPp logs) instead of removing it. */
  keep: boolean;
}

export const USAGE = `usage: npm run drill -- <kind> <region> [<region-b>] [options]
  kinds: ${DRILL_KINDS.join(', ')} (link-cut takes a second region: the link <region> – <region-b>)
  --rate N        calls per second offered (default 5, at most 200)
  --duration S    seconds the drill is held; link-cut restores the link after it (default 5, at most 600)
  --warmup S      seconds of load before the drill (default 5, at most 120)
  --after S       seconds of load after the drill phase (default 10, at most 600)
  --hold-ms N     each call's time between ACK and BYE (default 3000, 100..6500: the caller's audio lasts 7 s)
  --probes N      calls with an RTP probe for the media gap (default 4, at most 16; 0 turns it off)
  --node ID       node to kill or drain (default: the region's first media node, or its signaling node)
  --keep          keep the scratch folder with the SIPp logs`;

/** A mistake on the command line: the message names it, the CLI prints usage and exits 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function bounded(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined) return def;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || v < min || v > max) {
    throw new UsageError(`--${name}: expected a number from ${min} to ${max}, got "${raw}"`);
  }
  return v;
}

function integer(name: string, raw: string | undefined, def: number, min: number, max: number): number {
  const v = bounded(name, raw, def, min, max);
  if (!Number.isInteger(v)) throw new UsageError(`--${name}: expected a whole number, got "${raw}"`);
  return v;
}

/** Parse `argv` (without node and the script); `regions` are the catalog's region ids. */
export function parseDrillArgs(argv: readonly string[], regions: readonly string[]): DrillOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        rate: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        after: { type: 'string' },
        'hold-ms': { type: 'string' },
        probes: { type: 'string' },
        node: { type: 'string' },
        keep: { type: 'boolean', default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const regionList = [...regions].sort().join(', ');
  const [kindArg, region, peer, ...extra] = positionals;
  if (kindArg === undefined) throw new UsageError(`missing drill kind; kinds: ${DRILL_KINDS.join(', ')}`);
  if (!(DRILL_KINDS as readonly string[]).includes(kindArg)) {
    throw new UsageError(`unknown drill kind "${kindArg}"; kinds: ${DRILL_KINDS.join(', ')}`);
  }
  const kind = kindArg as DrillKind;
  if (region === undefined) throw new UsageError(`missing region; regions: ${regionList}`);
  if (!regions.includes(region)) throw new UsageError(`unknown region "${region}"; regions: ${regionList}`);
  if (kind === 'link-cut') {
    if (peer === undefined) throw new UsageError(`link-cut needs a second region (the far end of the link); regions: ${regionList}`);
    if (!regions.includes(peer)) throw new UsageError(`unknown region "${peer}"; regions: ${regionList}`);
    if (peer === region) throw new UsageError(`a link joins two different regions, got ${region} twice`);
    if (values.node !== undefined) throw new UsageError('--node does not apply to link-cut');
  } else if (peer !== undefined) {
    throw new UsageError(`${kind} takes one region, got a second one: "${peer}"`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  if (values.node !== undefined && !/^[A-Za-z0-9._-]{1,128}$/.test(values.node)) {
    throw new UsageError(`--node: expected a node id (letters, digits, . _ -, at most 128), got "${values.node}"`);
  }
  return {
    kind,
    region,
    ...(kind === 'link-cut' && peer !== undefined ? { peer } : {}),
    ...(values.node !== undefined ? { nodeId: values.node } : {}),
    rate: bounded('rate', values.rate, 5, 0.1, 200),
    durationS: bounded('duration', values.duration, 5, 0, 600),
    warmupS: bounded('warmup', values.warmup, 5, 1, 120),
    afterS: bounded('after', values.after, 10, 1, 600),
    holdMs: integer('hold-ms', values['hold-ms'], 3000, 100, 6500),
    probes: integer('probes', values.probes, 4, 0, 16),
    keep: values.keep === true,
  };
}
