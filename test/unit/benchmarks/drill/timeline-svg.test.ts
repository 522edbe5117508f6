import { describe, expect, it } from 'vitest';
import { renderTimeline } from '../../../../benchmarks/drill/timeline-svg.js';

const series = [
  { t: -1, placed: 5, answered: 5, failed: 0 },
  { t: 0, placed: 5, answered: 2, failed: 3 },
  { t: 1, placed: 5, answered: 5, failed: 0 },
];

describe('drill timeline SVG', () => {
  const svg = renderTimeline({
    title: 'link-cut eu-west – us-east <test>',
    fromS: -1,
    toS: 2,
    series,
    events: [
      { label: 'drill start', t: 0, color: '#000' },
      { label: 'detection', t: 0.25, color: '#9467bd' },
      { label: 'recovery', t: 1.5, color: '#2ca02c' },
    ],
    phase: { fromS: 0, toS: 1, label: 'link cut' },
  });

  it('is one standalone SVG document with the escaped title', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('link-cut eu-west – us-east &lt;test&gt;');
    expect(svg).not.toContain('<test>');
  });

  it('draws one line per series with a point per second, and a marker per event', () => {
    const lines = [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1]!.split(' '));
    expect(lines).toHaveLength(3);
    for (const pts of lines) expect(pts).toHaveLength(3);
    for (const label of ['drill start 0.00 s', 'detection 0.25 s', 'recovery 1.50 s', 'link cut']) expect(svg).toContain(label);
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(3);
  });

  it('places events on the time axis: the drill start a third of the way across', () => {
    const x = (label: string): number => {
      const m = new RegExp(`<text x="([0-9.]+)"[^>]*>${label}`).exec(svg);
      return Number(m?.[1]) - 3;
    };
    const left = 56;
    const plotW = 860 - 56 - 24;
    expect(x('drill start')).toBeCloseTo(left + plotW / 3, 0);
    expect(x('recovery')).toBeCloseTo(left + (plotW * 2.5) / 3, 0);
  });

  it('scales the y axis to the peak and draws a failure above zero', () => {
    const failed = [...svg.matchAll(/<polyline points="([^"]+)" fill="none" stroke="#d62728"/g)][0]![1]!.split(' ').map((p) => Number(p.split(',')[1]));
    const zeroY = 400 - 78;
    expect(failed[0]).toBeCloseTo(zeroY, 1);
    expect(failed[1]).toBeLessThan(zeroY);
  });
});
