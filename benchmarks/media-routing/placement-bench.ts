/**
 * Placement policy cost: time per `choosePlacement` decision with 1,000
 * registered media nodes across the three default regions.
 *
 *   npx tsx benchmarks/media-routing/placement-bench.ts [--nodes 1000] [--decisions 100000] [--warmup 20000]
 *
 * Inputs rotate over node snapshots (different load and health), media and
 * home regions and capabilities, all built before timing starts. Each call is
 * timed on its own with process.hrtime.bigint(). Baselines in the same run:
 * the timer's own cost (two back-to-back reads) and the cost of copying the
 * input's node array (`nodes.slice()`), the least any decision over the
 * array could cost. Results: benchmarks/results/placement.json and .md.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { resultStamp } from '../lib/result-stamp.js';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { choosePlacement } from '../../control-plane/placement/index.js';
import type { MediaCapability, PlacementInput, PlacementNode, PlacementOutcome } from '../../control-plane/placement/index.js';
import { loadRegionCatalog, MEDIA_CAPABILITIES } from '../../regions/catalog.js';
import { asNodeId, type RegionId } from '../../regions/core/ids.js';
import { argNumber, seededRandom } from '../lib/cli.js';
import { percentile, round } from '../lib/stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const resultsDir = join(root, 'benchmarks', 'results');

const NODES = argNumber('nodes', 1000);
const DECISIONS = argNumber('decisions', 100_000);
const WARMUP = argNumber('warmup', 20_000);
const SNAPSHOTS = 16;

const catalog = loadRegionCatalog(undefined, {});
const regions = catalog.regionIds;
const rand = seededRandom(20260102);

/**
 * Capability mix: every node relays; play and record are common, conference
 * less; transcode only in us-east (as in the embedded default), so requests
 * from the other regions take the remote rule.
 */
const CAPABILITY_SHARE: Record<MediaCapability, number> = { relay: 1, play: 0.9, record: 0.8, conference: 0.3, transcode: 0.2 };
const shapes = Array.from({ length: NODES }, (_, k) => {
  const region = regions[k % regions.length] as RegionId;
  const capabilities = MEDIA_CAPABILITIES.filter((c) => rand() < CAPABILITY_SHARE[c] && (c !== 'transcode' || region === 'us-east'));
  return { id: asNodeId(`${region}-media-${Math.floor(k / regions.length) + 1}`), region, capabilities };
});
/**
 * Nodes are built with one object literal, fields in one order, as
 * `placementNodesFromCatalog` does: V8 then gives them one hidden class and
 * the policy's property reads stay monomorphic.
 */
const snapshots: PlacementNode[][] = Array.from({ length: SNAPSHOTS }, () =>
  shapes.map((s) => ({
    id: s.id,
    region: s.region,
    capabilities: s.capabilities,
    healthy: rand() < 0.95,
    load: Math.round(rand() * 1000) / 1000,
    sessions: Math.floor(rand() * 500),
  })),
);

/**
 * The same snapshots built with object spread (`{ ...shape, healthy, … }`):
 * V8 gives such objects many hidden classes, the policy's property reads go
 * megamorphic, and a decision costs several times more. Measured on fewer
 * decisions, to show what a node source should avoid.
 */
const spreadSnapshots: PlacementNode[][] = snapshots.map((nodes) =>
  nodes.map((n, k) => ({ ...(shapes[k] as (typeof shapes)[number]), healthy: n.healthy, load: n.load, sessions: n.sessions })),
);

function buildInputs(from: readonly PlacementNode[][]): PlacementInput[] {
  const inputs: PlacementInput[] = [];
  for (const nodes of from) {
  for (const mediaRegion of regions) {
    for (const homeRegion of regions) {
      for (const capability of MEDIA_CAPABILITIES) {
        inputs.push({
          mediaRegion,
          homeRegion,
          capability,
          nodes,
          linkDelaysMs: catalog.linkDelays(),
          centralServices: catalog.centralServicesOf(homeRegion),
        });
      }
    }
  }
  }
  return inputs;
}
const inputs = buildInputs(snapshots);
const spreadInputs = buildInputs(spreadSnapshots);
const SPREAD_DECISIONS = Math.max(1000, Math.floor(DECISIONS / 10));

/** Time `fn` once per input, round-robin; returns per-call microseconds. */
function measure(count: number, fn: (input: PlacementInput) => unknown, sink: { n: number }, from = inputs): Float64Array {
  const out = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const input = from[k % from.length] as PlacementInput;
    const t0 = process.hrtime.bigint();
    const r = fn(input);
    const t1 = process.hrtime.bigint();
    out[k] = Number(t1 - t0) / 1000;
    if (r !== undefined) sink.n++;
  }
  return out;
}

function summary(samples: Float64Array): { p50: number; p90: number; p99: number; max: number; mean: number } {
  const xs = Array.from(samples);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    p50: round(percentile(xs, 50)) ?? NaN,
    p90: round(percentile(xs, 90)) ?? NaN,
    p99: round(percentile(xs, 99)) ?? NaN,
    max: round(Math.max(...xs)) ?? NaN,
    mean: round(mean) ?? NaN,
  };
}

const loadStart = loadavg()[0] ?? 0;
const sink = { n: 0 };
const outcomes: Record<PlacementOutcome, number> = { local: 0, remote: 0, 'local-with-branch': 0, unavailable: 0 };

// Warm-up: let the JIT optimise both paths before anything is timed.
measure(WARMUP, choosePlacement, sink);
measure(WARMUP, (i) => i.nodes.slice(), sink);

/** Second baseline: touch every node once, copying its fields into a fresh literal. */
const copyEachNode = (i: PlacementInput): PlacementNode[] =>
  i.nodes.map((n) => ({ id: n.id, region: n.region, capabilities: n.capabilities, healthy: n.healthy, load: n.load, sessions: n.sessions }));
measure(WARMUP, copyEachNode, sink);

const timer = summary(measure(DECISIONS, () => undefined, sink));
const copy = summary(measure(DECISIONS, (i) => i.nodes.slice(), sink));
const copyNodes = summary(measure(DECISIONS, copyEachNode, sink));
const place = summary(
  measure(
    DECISIONS,
    (i) => {
      const d = choosePlacement(i);
      outcomes[d.outcome]++;
      return d;
    },
    sink,
  ),
);
// Outcome counts cover the timed literal-built run only.
measure(Math.min(WARMUP, SPREAD_DECISIONS), choosePlacement, sink, spreadInputs);
const spread = summary(measure(SPREAD_DECISIONS, choosePlacement, sink, spreadInputs));
const loadEnd = loadavg()[0] ?? 0;

const result = {
  benchmark: 'placement',
  at: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cpuCount: cpus().length,
  loadAverage1m: { start: round(loadStart, 2), end: round(loadEnd, 2) },
  parameters: { nodes: NODES, regions: regions.length, snapshots: SNAPSHOTS, distinctInputs: inputs.length, warmup: WARMUP, decisions: DECISIONS },
  unit: 'microseconds per call',
  placement: place,
  baselines: { timerOnly: timer, copyNodeArray: copy, copyEachNode: copyNodes },
  ratioToCopy: { p50: round(place.p50 / copy.p50, 2), p99: round(place.p99 / copy.p99, 2) },
  ratioToCopyEachNode: { p50: round(place.p50 / copyNodes.p50, 2), p99: round(place.p99 / copyNodes.p99, 2) },
  spreadBuiltNodes: { decisions: SPREAD_DECISIONS, ...spread },
  outcomes,
  aim: { p99BelowMs: 1, met: place.p99 < 1000 },
};

const md = `# Placement policy: time per decision

${result.at} · Node ${result.node} · ${result.cpu} × ${result.cpuCount} · load average ${result.loadAverage1m.start} → ${result.loadAverage1m.end}

${NODES} registered media nodes across ${regions.length} regions (${SNAPSHOTS} load/health snapshots, 95 % healthy; transcode only in us-east),
${inputs.length} distinct inputs rotating over media region × home region × capability; ${WARMUP} warm-up calls,
then ${DECISIONS} timed calls each, one \`process.hrtime.bigint()\` pair per call.

| µs per call | p50 | p90 | p99 | max | mean |
|---|---:|---:|---:|---:|---:|
| \`choosePlacement\` | ${place.p50} | ${place.p90} | ${place.p99} | ${place.max} | ${place.mean} |
| baseline: copy the node array (\`nodes.slice()\`) | ${copy.p50} | ${copy.p90} | ${copy.p99} | ${copy.max} | ${copy.mean} |
| baseline: copy every node into a fresh object | ${copyNodes.p50} | ${copyNodes.p90} | ${copyNodes.p99} | ${copyNodes.max} | ${copyNodes.mean} |
| baseline: timer only | ${timer.p50} | ${timer.p90} | ${timer.p99} | ${timer.max} | ${timer.mean} |

Placement ÷ array copy: ${result.ratioToCopy.p50}× at p50, ${result.ratioToCopy.p99}× at p99;
placement ÷ copying every node: ${result.ratioToCopyEachNode.p50}× at p50, ${result.ratioToCopyEachNode.p99}× at p99.
Aim p99 < 1 ms: **${result.aim.met ? 'met' : 'not met'}** (p99 ${place.p99} µs).

Same inputs with nodes built by object spread (\`{ ...shape, healthy, load, sessions }\`, ${SPREAD_DECISIONS} calls):
p50 ${spread.p50} µs, p99 ${spread.p99} µs — V8 gives such objects many hidden classes and every property read
goes megamorphic; a node source should build nodes with one object literal, fields in one order.

Outcomes: ${Object.entries(outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}.

Max includes garbage-collection pauses and scheduler preemption (2 cores shared with other work); p99 is the figure to compare.
`;

mkdirSync(resultsDir, { recursive: true });
// A new pair per run: the committed results are examples (benchmarks/README.md).
const name = `placement-${resultStamp(new Date())}`;
writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(resultsDir, `${name}.md`), md);
process.stdout.write(`${md}\nwritten: benchmarks/results/${name}.{json,md} (sink ${sink.n})\n`);
