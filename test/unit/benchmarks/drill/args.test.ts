import { describe, expect, it } from 'vitest';
import { DRILL_KINDS, parseDrillArgs, UsageError } from '../../../../benchmarks/drill/args.js';

const REGIONS = ['us-east', 'eu-west', 'ap-south'];

function usageError(argv: string[]): string {
  try {
    parseDrillArgs(argv, REGIONS);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${argv.join(' ')}`);
}

describe('drill command line', () => {
  it('takes a kind and a region with the documented defaults', () => {
    expect(parseDrillArgs(['media-kill', 'us-east'], REGIONS)).toEqual({
      kind: 'media-kill', region: 'us-east', rate: 5, durationS: 5, warmupS: 5, afterS: 10, holdMs: 3000, probes: 4, keep: false,
    });
  });

  it('takes the far region of a link cut and its options', () => {
    const o = parseDrillArgs(['link-cut', 'eu-west', 'us-east', '--duration', '7.5', '--rate', '20', '--probes', '0', '--keep'], REGIONS);
    expect(o).toMatchObject({ kind: 'link-cut', region: 'eu-west', peer: 'us-east', durationS: 7.5, rate: 20, probes: 0, keep: true });
  });

  it('takes a node id', () => {
    expect(parseDrillArgs(['media-drain', 'ap-south', '--node', 'ap-south-media-2'], REGIONS).nodeId).toBe('ap-south-media-2');
  });

  it('names every kind for an unknown or missing kind', () => {
    for (const msg of [usageError(['media-boom', 'us-east']), usageError([])]) {
      for (const k of DRILL_KINDS) expect(msg).toContain(k);
    }
    expect(usageError(['media-boom', 'us-east'])).toContain('"media-boom"');
  });

  it('names every region for an unknown or missing region', () => {
    expect(usageError(['media-kill', 'mars'])).toBe('unknown region "mars"; regions: ap-south, eu-west, us-east');
    expect(usageError(['media-kill'])).toContain('regions: ap-south, eu-west, us-east');
    expect(usageError(['link-cut', 'eu-west', 'mars'])).toContain('unknown region "mars"');
  });

  it('needs two different regions for a link cut, and one for the other kinds', () => {
    expect(usageError(['link-cut', 'eu-west'])).toContain('second region');
    expect(usageError(['link-cut', 'eu-west', 'eu-west'])).toContain('eu-west twice');
    expect(usageError(['media-kill', 'us-east', 'eu-west'])).toContain('one region');
    expect(usageError(['link-cut', 'eu-west', 'us-east', '--node', 'x'])).toContain('--node');
    expect(usageError(['link-cut', 'eu-west', 'us-east', 'ap-south'])).toContain('unexpected arguments');
  });

  it('bounds the numbers and names the option', () => {
    expect(usageError(['media-kill', 'us-east', '--rate', '0'])).toContain('--rate');
    expect(usageError(['media-kill', 'us-east', '--rate', 'fast'])).toContain('"fast"');
    expect(usageError(['media-kill', 'us-east', '--rate', '201'])).toContain('--rate');
    expect(usageError(['media-kill', 'us-east', '--duration', '-1'])).toContain('--duration');
    expect(usageError(['media-kill', 'us-east', '--hold-ms', '7000'])).toContain('--hold-ms');
    expect(usageError(['media-kill', 'us-east', '--hold-ms', '1000.5'])).toContain('whole number');
    expect(usageError(['media-kill', 'us-east', '--probes', '17'])).toContain('--probes');
  });

  it('refuses unknown options and odd node ids', () => {
    expect(usageError(['media-kill', 'us-east', '--speed', '3'])).toContain('--speed');
    expect(usageError(['media-kill', 'us-east', '--node', '../../etc'])).toContain('--node');
  });

  it('runs a signaling kill without more ado (make start runs a standby), and knows no --force', () => {
    expect(parseDrillArgs(['signaling-kill', 'us-east'], REGIONS).kind).toBe('signaling-kill');
    expect(usageError(['signaling-kill', 'us-east', '--force'])).toMatch(/force/);
  });
});
