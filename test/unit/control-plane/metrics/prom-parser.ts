/**
 * A strict reader of Prometheus text format 0.0.4 for tests: checks that every
 * family has one HELP and one TYPE before its samples, that samples belong to
 * the family declared last, and unescapes label values.
 */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  samples: ParsedSample[];
}

function unescapeHelp(s: string): string {
  return s.replace(/\\(\\|n)/g, (_, ch: string) => (ch === 'n' ? '\n' : '\\'));
}

function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels ${text}`);
    const name = text.slice(i, eq);
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`bad label name ${name}`);
    if (text[eq + 1] !== '"') throw new Error(`label ${name} not quoted`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      const ch = text[j];
      if (ch === undefined) throw new Error(`unterminated label ${name}`);
      if (ch === '\n') throw new Error('raw newline in label value');
      if (ch === '\\') {
        const nx = text[j + 1];
        if (nx === 'n') value += '\n';
        else if (nx === '\\' || nx === '"') value += nx;
        else throw new Error(`bad escape \\${nx}`);
        j += 2;
        continue;
      }
      if (ch === '"') break;
      value += ch;
      j += 1;
    }
    if (name in out) throw new Error(`duplicate label ${name}`);
    out[name] = value;
    j += 1;
    if (text[j] === ',') j += 1;
    else if (j !== text.length) throw new Error(`junk after label ${name}`);
    i = j;
  }
  return out;
}

const SUFFIXES: Record<string, string[]> = {
  counter: [''],
  gauge: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
  untyped: [''],
};

export function parsePrometheus(text: string): Map<string, ParsedFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, ParsedFamily>();
  let current: ParsedFamily | undefined;
  let pendingHelp: { name: string; help: string } | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m !== null) {
      if (families.has(m[1]!)) throw new Error(`family ${m[1]} declared twice`);
      pendingHelp = { name: m[1]!, help: unescapeHelp(m[2]!) };
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m !== null) {
      if (pendingHelp === undefined || pendingHelp.name !== m[1]) throw new Error(`TYPE ${m[1]} without HELP right before`);
      current = { name: m[1]!, help: pendingHelp.help, type: m[2]!, samples: [] };
      families.set(current.name, current);
      pendingHelp = undefined;
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment ${line}`);
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    if (current === undefined) throw new Error(`sample before any TYPE: ${line}`);
    const name = m[1]!;
    const suffix = name.startsWith(current.name) ? name.slice(current.name.length) : undefined;
    if (suffix === undefined || !SUFFIXES[current.type]!.includes(suffix)) {
      throw new Error(`sample ${name} does not belong to family ${current.name}`);
    }
    const raw = m[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : raw === 'NaN' ? NaN : Number(raw);
    if (Number.isNaN(value) && raw !== 'NaN') throw new Error(`bad value ${raw}`);
    current.samples.push({ name, labels: m[2] === undefined ? {} : parseLabels(m[2]), value });
  }
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function valueOf(
  families: Map<string, ParsedFamily>,
  family: string,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  const fam = families.get(family);
  const hits = (fam?.samples ?? []).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (hits.length > 1) throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return hits[0]?.value;
}
