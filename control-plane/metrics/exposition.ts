/**
 * Prometheus text exposition format 0.0.4: one `# HELP` and one `# TYPE` line
 * per metric family, followed by all of its samples, each family exactly once.
 * Escaping per the format: label values escape `\`, `"` and newline; HELP
 * text escapes `\` and newline.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export type Labels = Readonly<Record<string, string>>;

interface Sample {
  /** Suffix after the family name (`_bucket`, `_sum`, `_count`, or ''). */
  suffix: string;
  labels: Labels;
  value: number;
}

interface Family {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go's strconv-style float text the format expects: `+Inf`, `-Inf`, `NaN`, else the shortest round-trip decimal. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}`;
}

/** Collects samples by family so each family is written once, in first-registered order. */
export class MetricsWriter {
  private readonly families = new Map<string, Family>();

  /** Declare a family (idempotent; a second declaration with another type is a programming error). */
  family(name: string, type: MetricType, help: string): void {
    if (!METRIC_NAME.test(name)) throw new TypeError(`invalid metric name ${name}`);
    const existing = this.families.get(name);
    if (existing !== undefined) {
      if (existing.type !== type) throw new TypeError(`metric ${name} declared as ${existing.type} and ${type}`);
      return;
    }
    this.families.set(name, { name, help, type, samples: [] });
  }

  /** Names of the families declared so far. */
  familyNames(): string[] {
    return [...this.families.keys()];
  }

  sample(name: string, labels: Labels, value: number, suffix = ''): void {
    const fam = this.families.get(name);
    if (fam === undefined) throw new TypeError(`metric ${name} not declared`);
    for (const k of Object.keys(labels)) if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new TypeError(`invalid label ${k}`);
    fam.samples.push({ suffix, labels, value });
  }

  /**
   * One histogram series: cumulative buckets by upper bound (the `+Inf`
   * bucket is always written and equals `count`, as the format requires).
   */
  histogram(name: string, labels: Labels, buckets: ReadonlyArray<readonly [number, number]>, sum: number, count: number): void {
    const sorted = [...buckets].filter(([le]) => Number.isFinite(le)).sort((a, b) => a[0] - b[0]);
    for (const [le, n] of sorted) this.sample(name, { ...labels, le: formatValue(le) }, n, '_bucket');
    this.sample(name, { ...labels, le: '+Inf' }, count, '_bucket');
    this.sample(name, labels, sum, '_sum');
    this.sample(name, labels, count, '_count');
  }

  render(): string {
    const out: string[] = [];
    for (const fam of this.families.values()) {
      out.push(`# HELP ${fam.name} ${escapeHelp(fam.help)}`);
      out.push(`# TYPE ${fam.name} ${fam.type}`);
      for (const s of fam.samples) out.push(`${fam.name}${s.suffix}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    }
    return out.length === 0 ? '' : out.join('\n') + '\n';
  }
}
