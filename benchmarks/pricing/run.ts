/**
 * Price resolution cost (issue 14): time per `resolvePrice` over a
 * 100,000-prefix platform deck with two override levels (a parent's and a
 * subaccount's deck, 1,000 entries each, the most an account deck holds),
 * against a same-run baseline of one plain `Map.get` on a 100,000-key map.
 *
 *   npx tsx benchmarks/pricing/run.ts [--prefixes 100000] [--lookups 200000] [--warmup 50000]
 *
 * Prefixes are random (seeded) under +1, +44 and +91, 2 to 8 digits after the
 * country code; destinations are 10- to 12-digit numbers drawn so that about
 * half fall under a long prefix; a quarter of the lookups carry an origination
 * number (origination-restricted entries exist at every level). Everything is
 * built before timing; each call is timed on its own with
 * process.hrtime.bigint(). Results: benchmarks/results/pricing-<stamp>.json and .md, a new pair per run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resultStamp } from '../lib/result-stamp.js';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DeckEntry } from '../../regions/pricing/deck.js';
import { DeckIndex, resolvePrice, type DeckRef, type PriceQuery } from '../../regions/pricing/resolve.js';
import { argNumber, seededRandom } from '../lib/cli.js';
import { percentile, round } from '../lib/stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const resultsDir = join(root, 'benchmarks', 'results');

const PREFIXES = argNumber('prefixes', 100_000);
const LOOKUPS = argNumber('lookups', 200_000);
const WARMUP = argNumber('warmup', 50_000);
const ACCOUNT_ENTRIES = 1000;

const rand = seededRandom(20261207);
const COUNTRIES = ['+1', '+44', '+91'];
const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
const price = (): string => (rand() * 0.1).toFixed(4);

function deck(count: number, withCountryRoots: boolean): DeckEntry[] {
  const seen = new Set<string>();
  const entries: DeckEntry[] = [];
  if (withCountryRoots) for (const c of COUNTRIES) entries.push({ item: 'voice-outbound', prefix: c, price: price() });
  while (entries.length < count) {
    const prefix = `${COUNTRIES[Math.floor(rand() * COUNTRIES.length)]}${digits(2 + Math.floor(rand() * 7))}`;
    const restricted = rand() < 0.05;
    const key = `${prefix}|${restricted}`;
    if (seen.has(key)) continue;
    seen.add(key);
    entries.push({ item: 'voice-outbound', prefix, price: price(), ...(restricted ? { originationPrefix: COUNTRIES[Math.floor(rand() * COUNTRIES.length)]! } : {}) });
  }
  return entries;
}

const platformEntries = deck(PREFIXES, true);
const chain: DeckRef[] = [
  { level: 'account', accountSid: 'AC' + 'c'.repeat(32), index: new DeckIndex(deck(ACCOUNT_ENTRIES, false)) },
  { level: 'parent', accountSid: 'AC' + 'p'.repeat(32), index: new DeckIndex(deck(ACCOUNT_ENTRIES, false)) },
  { level: 'platform', index: new DeckIndex(platformEntries) },
];

// Queries: half extend a deck prefix (long matches), half are random numbers of a country.
const QUERY_COUNT = 65_536;
const queries: PriceQuery[] = Array.from({ length: QUERY_COUNT }, () => {
  const base = rand() < 0.5 ? platformEntries[Math.floor(rand() * platformEntries.length)]!.prefix! : COUNTRIES[Math.floor(rand() * COUNTRIES.length)]!;
  const destination = (base + digits(12)).slice(0, 13);
  return { item: 'voice-outbound', destination, ...(rand() < 0.25 ? { origination: `${COUNTRIES[Math.floor(rand() * 3)]}${digits(10)}` } : {}) };
});
// Baseline: one Map.get per query on a map as large as the deck.
const plainMap = new Map<string, number>(platformEntries.map((e, i) => [`${e.item}|${e.prefix}`, i]));
const mapKeys = queries.map((q, i) => (i % 2 === 0 ? `voice-outbound|${platformEntries[i % platformEntries.length]!.prefix}` : `voice-outbound|${q.destination}`));

function measure(n: number, fn: (k: number) => unknown, sink: { n: number }): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const t0 = process.hrtime.bigint();
    const r = fn(k & (QUERY_COUNT - 1));
    const t1 = process.hrtime.bigint();
    out[k] = Number(t1 - t0) / 1000;
    if (r !== undefined) sink.n++;
  }
  return out;
}

function summary(samples: Float64Array) {
  const xs = Array.from(samples);
  return {
    p50: round(percentile(xs, 50)) ?? NaN,
    p90: round(percentile(xs, 90)) ?? NaN,
    p99: round(percentile(xs, 99)) ?? NaN,
    max: round(xs.reduce((a, b) => Math.max(a, b), 0)) ?? NaN,
    mean: round(xs.reduce((a, b) => a + b, 0) / xs.length) ?? NaN,
  };
}

const loadStart = loadavg()[0] ?? 0;
const sink = { n: 0 };
const decided: Record<string, number> = { account: 0, parent: 0, platform: 0 };
const resolve = (k: number) => resolvePrice(chain, queries[k]!);
measure(WARMUP, resolve, sink);
measure(WARMUP, (k) => plainMap.get(mapKeys[k]!), sink);
const timer = summary(measure(LOOKUPS, () => undefined, sink));
const map = summary(measure(LOOKUPS, (k) => plainMap.get(mapKeys[k]!), sink));
const resolution = summary(
  measure(
    LOOKUPS,
    (k) => {
      const d = resolvePrice(chain, queries[k]!);
      decided[d.deck] = (decided[d.deck] ?? 0) + 1;
      return d;
    },
    sink,
  ),
);
const loadEnd = loadavg()[0] ?? 0;

const result = {
  benchmark: 'pricing',
  at: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cpuCount: cpus().length,
  loadAverage1m: { start: round(loadStart, 2), end: round(loadEnd, 2) },
  parameters: { platformEntries: platformEntries.length, accountEntries: ACCOUNT_ENTRIES, parentEntries: ACCOUNT_ENTRIES, distinctQueries: QUERY_COUNT, warmup: WARMUP, lookups: LOOKUPS },
  unit: 'microseconds per lookup',
  resolution,
  baselines: { timerOnly: timer, plainMapGet: map },
  ratioToMap: { p50: round(resolution.p50 / map.p50, 2), p99: round(resolution.p99 / map.p99, 2) },
  decidedBy: decided,
  aim: { p99BelowUs: 50, met: resolution.p99 < 50 },
};

const row = (name: string, s: ReturnType<typeof summary>) => `| ${name} | ${s.p50} | ${s.p90} | ${s.p99} | ${s.max} | ${s.mean} |`;
const md = `# Price resolution: time per lookup

${result.at} · Node ${result.node} · ${result.cpu} × ${result.cpuCount} · load average ${result.loadAverage1m.start} → ${result.loadAverage1m.end}

A platform deck of ${platformEntries.length} voice-outbound prefixes (+1, +44, +91; 2–8 digits after the country code, 5 % origination-restricted)
under a parent deck and a subaccount deck of ${ACCOUNT_ENTRIES} entries each; ${QUERY_COUNT} distinct queries (half under a deck prefix, a quarter with an
origination number); ${WARMUP} warm-up calls, then ${LOOKUPS} timed calls each, one \`process.hrtime.bigint()\` pair per call.

| µs per call | p50 | p90 | p99 | max | mean |
|---|---:|---:|---:|---:|---:|
${row('resolvePrice (3 decks)', resolution)}
${row('baseline: Map.get (100k keys)', map)}
${row('baseline: timer only', timer)}

Ratio to the Map baseline: p50 × ${result.ratioToMap.p50}, p99 × ${result.ratioToMap.p99}. Decided by: account ${decided.account}, parent ${decided.parent}, platform ${decided.platform}.
Aim: p99 under 50 µs — ${result.aim.met ? 'met' : 'NOT met'}.
`;

mkdirSync(resultsDir, { recursive: true });
// A new pair per run: the committed results are examples (benchmarks/README.md).
const name = `pricing-${resultStamp(new Date())}`;
writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(resultsDir, `${name}.md`), md);
process.stdout.write(`${md}\nwritten: benchmarks/results/${name}.{json,md}\n`);
