/**
 * Parsers for what SIPp leaves behind: the -trace_stat CSV and the text
 * screens (statistics and scenario) it prints on exit or writes with
 * -trace_screen. Pure functions, so they are tested on sample text.
 */

/** One line of SIPp's scenario screen: a message or pause of the scenario and its counters. */
export interface SippScreenRow {
  /** 'INVITE', '180', 'ACK', 'Pause', ... */
  name: string;
  /** 'out' = sent by this SIPp, 'in' = received, 'pause' for pauses. */
  direction: 'in' | 'out' | 'pause';
  messages: number;
  retrans: number;
  timeouts: number;
  unexpected: number;
}

/** Last data row of a -trace_stat CSV, keyed by the header row's column names. */
export function parseStatCsv(text: string): Record<string, string> {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0];
  const last = lines.length > 1 ? lines[lines.length - 1] : undefined;
  if (header === undefined || last === undefined) return {};
  const names = header.split(';');
  const values = last.split(';');
  const out: Record<string, string> = {};
  names.forEach((name, i) => {
    if (name !== '') out[name] = values[i] ?? '';
  });
  return out;
}

/** Cumulative value of a counter on SIPp's statistics screen ("Successful call | 0 | 5"), last occurrence. */
export function screenCounter(text: string, label: string): number | undefined {
  let found: number | undefined;
  const re = new RegExp(`^\\s*${label}\\s*\\|[^|]*\\|\\s*(\\d+)`, 'gm');
  for (const m of text.matchAll(re)) found = Number(m[1]);
  return found;
}

/** Message rows of the last scenario screen in `text`. */
export function parseScenarioScreen(text: string): SippScreenRow[] {
  const start = text.lastIndexOf('Scenario Screen');
  if (start < 0) return [];
  const rows: SippScreenRow[] = [];
  const arrow = '(?:-{5,}>|<-{5,})';
  const nums = '(\\d+)(?:\\s+(\\d+))?(?:\\s+(\\d+))?(?:\\s+(\\d+))?';
  const uacStyle = new RegExp(`^\\s*(\\S+) (${arrow})\\s+(?:[A-Z]-RTD\\d+\\s+)?${nums}`);
  const uasStyle = new RegExp(`^\\s*(${arrow}) (\\S+)\\s+(?:[A-Z]-RTD\\d+\\s+)?${nums}`);
  const pause = new RegExp(`^\\s*(?:Pause \\[[^\\]]*\\]|\\[[^\\]]*\\] Pause)\\s+${nums}`);
  for (const line of text.slice(start).split('\n').slice(1)) {
    if (/^-{5,} /.test(line)) break;
    let name: string | undefined;
    let dir: SippScreenRow['direction'];
    let counts: (string | undefined)[];
    const a = uacStyle.exec(line);
    const b = a ? null : uasStyle.exec(line);
    const p = a || b ? null : pause.exec(line);
    if (a) {
      name = a[1];
      // UAC layout: "INVITE ---------->" is sent, "180 <----------" received.
      dir = a[2]?.endsWith('>') ? 'out' : 'in';
      counts = a.slice(3);
    } else if (b) {
      name = b[2];
      // UAS layout: "----------> INVITE" is received, "<---------- 180" sent.
      dir = b[1]?.endsWith('>') ? 'in' : 'out';
      counts = b.slice(3);
    } else if (p) {
      name = 'Pause';
      dir = 'pause';
      counts = p.slice(1);
    } else {
      continue;
    }
    const n = (s: string | undefined): number => (s === undefined ? 0 : Number(s));
    rows.push({
      name: name ?? '',
      direction: dir,
      messages: n(counts[0]),
      retrans: dir === 'pause' ? 0 : n(counts[1]),
      timeouts: dir === 'pause' ? 0 : n(counts[2]),
      unexpected: dir === 'pause' ? n(counts[1]) : n(counts[3]),
    });
  }
  return rows;
}
