/**
 * The drill's timeline as standalone SVG (no dependencies): calls per second
 * (placed, answered, failed by placement time) as lines over seconds from the
 * drill start, the drill's events as labelled vertical markers, and the drill
 * phase (e.g. a link held cut) shaded.
 */
import type { SeriesPoint } from './analysis.js';

export interface TimelineEvent {
  label: string;
  /** Seconds from the drill start. */
  t: number;
  color: string;
}

export interface Timeline {
  title: string;
  /** Axis range, seconds from the drill start. */
  fromS: number;
  toS: number;
  series: readonly SeriesPoint[];
  events: readonly TimelineEvent[];
  /** A shaded span, e.g. the time the link was cut. */
  phase?: { fromS: number; toS: number; label: string };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A "nice" axis maximum (1, 2, 2.5 or 5 × 10^k) at or above `v`. */
function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= v) return m * exp;
  return 10 * exp;
}

const LINES: { key: 'placed' | 'answered' | 'failed'; name: string; color: string }[] = [
  { key: 'placed', name: 'placed /s', color: '#1f77b4' },
  { key: 'answered', name: 'answered /s', color: '#2ca02c' },
  { key: 'failed', name: 'failed /s (by placement)', color: '#d62728' },
];

export function renderTimeline(tl: Timeline): string {
  const width = 860;
  const height = 400;
  const m = { top: 48, right: 24, bottom: 78, left: 56 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const span = tl.toS > tl.fromS ? tl.toS - tl.fromS : 1;
  const x = (t: number): number => m.left + ((Math.min(Math.max(t, tl.fromS), tl.toS) - tl.fromS) / span) * plotW;
  const peak = Math.max(0, ...tl.series.flatMap((p) => [p.placed, p.answered, p.failed]));
  const yMax = niceMax(peak * 1.1);
  const y = (v: number): number => m.top + plotH - (v / yMax) * plotH;
  const f = (n: number): string => n.toFixed(1);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(tl.title)}</text>`);
  if (tl.phase !== undefined) {
    const x0 = x(tl.phase.fromS);
    const x1 = x(tl.phase.toS);
    out.push(`<rect x="${f(x0)}" y="${m.top}" width="${f(Math.max(1, x1 - x0))}" height="${plotH}" fill="#fde9c8"><title>${esc(tl.phase.label)}</title></rect>`);
    out.push(`<text x="${f((x0 + x1) / 2)}" y="${m.top + 14}" text-anchor="middle" font-size="11" fill="#a0661a">${esc(tl.phase.label)}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const v = (yMax * i) / 5;
    out.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${m.left - 6}" y="${f(y(v) + 4)}" text-anchor="end">${esc(String(+v.toPrecision(4)))}</text>`);
  }
  const step = niceMax(span / 10);
  for (let t = Math.ceil(tl.fromS / step) * step; t <= tl.toS + 1e-9; t += step) {
    out.push(`<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${m.top + plotH}" y2="${m.top + plotH + 4}" stroke="#333"/>`);
    out.push(`<text x="${f(x(t))}" y="${m.top + plotH + 17}" text-anchor="middle">${esc(String(+t.toPrecision(6)))}</text>`);
  }
  out.push(`<text x="${m.left + plotW / 2}" y="${m.top + plotH + 34}" text-anchor="middle">seconds from drill start</text>`);
  out.push(`<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">calls per second</text>`);
  out.push(`<line x1="${m.left}" x2="${m.left + plotW}" y1="${m.top + plotH}" y2="${m.top + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + plotH}" stroke="#333"/>`);
  for (const line of LINES) {
    // Each bucket's value is drawn at the bucket's middle.
    const pts = tl.series.map((p) => `${f(x(p.t + 0.5))},${f(y(p[line.key]))}`);
    if (pts.length > 0) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${line.color}" stroke-width="2"/>`);
  }
  tl.events.forEach((ev, i) => {
    const xx = x(ev.t);
    out.push(`<line x1="${f(xx)}" x2="${f(xx)}" y1="${m.top}" y2="${m.top + plotH}" stroke="${ev.color}" stroke-width="1.5" stroke-dasharray="5 3"/>`);
    out.push(`<text x="${f(xx + 3)}" y="${m.top + 30 + (i % 4) * 14}" fill="${ev.color}" font-size="11">${esc(`${ev.label} ${ev.t.toFixed(2)} s`)}</text>`);
  });
  LINES.forEach((line, i) => {
    const lx = m.left + i * 200;
    const ly = height - 14;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${line.color}"/><text x="${lx + 16}" y="${ly}">${esc(line.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
