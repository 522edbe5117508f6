import { describe, expect, it } from 'vitest';
import { MetricsWriter, escapeHelp, escapeLabelValue, formatValue } from '../../../../control-plane/metrics/exposition.js';
import { parsePrometheus } from './prom-parser.js';

describe('exposition escaping and values', () => {
  it('escapes backslash, quote and newline in label values', () => {
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });

  it('escapes backslash and newline but not quotes in HELP', () => {
    expect(escapeHelp('say "hi"\\\nbye')).toBe('say "hi"\\\\\\nbye');
  });

  it('formats special floats as the format spells them', () => {
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(0.0025)).toBe('0.0025');
    expect(formatValue(42)).toBe('42');
  });
});

describe('MetricsWriter', () => {
  it('writes each family once with HELP then TYPE, samples grouped under it', () => {
    const w = new MetricsWriter();
    w.family('a_total', 'counter', 'A things.');
    w.family('b', 'gauge', 'B level.');
    w.sample('a_total', { node: 'n1' }, 1);
    w.sample('b', { node: 'n1' }, 5);
    w.sample('a_total', { node: 'n2' }, 2);
    const text = w.render();
    expect(text).toBe(
      [
        '# HELP a_total A things.',
        '# TYPE a_total counter',
        'a_total{node="n1"} 1',
        'a_total{node="n2"} 2',
        '# HELP b B level.',
        '# TYPE b gauge',
        'b{node="n1"} 5',
        '',
      ].join('\n'),
    );
    expect(parsePrometheus(text).get('a_total')?.samples).toHaveLength(2);
  });

  it('round-trips awkward label values through the parser', () => {
    const w = new MetricsWriter();
    w.family('x', 'gauge', 'line one\nline two \\ end');
    const nasty = 'quote " slash \\ nl \n brace } comma ,';
    w.sample('x', { outcome: nasty }, 3);
    const fams = parsePrometheus(w.render());
    expect(fams.get('x')?.help).toBe('line one\nline two \\ end');
    expect(fams.get('x')?.samples[0]?.labels.outcome).toBe(nasty);
  });

  it('writes histogram buckets sorted, +Inf equal to count, then _sum and _count', () => {
    const w = new MetricsWriter();
    w.family('lat_seconds', 'histogram', 'Latency.');
    w.histogram('lat_seconds', { node: 'n' }, [[0.01, 3], [0.001, 1]], 0.5, 4);
    const lines = w.render().trim().split('\n').slice(2);
    expect(lines).toEqual([
      'lat_seconds_bucket{node="n",le="0.001"} 1',
      'lat_seconds_bucket{node="n",le="0.01"} 3',
      'lat_seconds_bucket{node="n",le="+Inf"} 4',
      'lat_seconds_sum{node="n"} 0.5',
      'lat_seconds_count{node="n"} 4',
    ]);
  });

  it('refuses undeclared families, bad names and conflicting types', () => {
    const w = new MetricsWriter();
    expect(() => w.sample('nope', {}, 1)).toThrow(TypeError);
    expect(() => w.family('bad-name', 'gauge', 'x')).toThrow(TypeError);
    w.family('ok', 'gauge', 'x');
    expect(() => w.family('ok', 'counter', 'x')).toThrow(TypeError);
    expect(() => w.sample('ok', { 'bad-label': 'v' }, 1)).toThrow(TypeError);
    expect(() => w.sample('ok', { __reserved: 'v' }, 1)).toThrow(TypeError);
  });

  it('renders nothing when nothing was declared', () => {
    expect(new MetricsWriter().render()).toBe('');
  });
});
