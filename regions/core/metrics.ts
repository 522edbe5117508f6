/**
 * Latency histograms and process metrics of one node, measured with
 * prom-client, carried to the control plane in the node's metrics snapshot
 * (regions/store/node-metrics.ts) as prom-client's JSON form, and rendered
 * into the one /metrics there (control-plane/metrics/render.ts) with the
 * node's `region` and `node` labels.
 *
 * Why in the snapshot and not a /metrics per node: signaling nodes serve no
 * HTTP, operators scrape one endpoint for the whole mesh, and a node that
 * stopped publishing drops out after the stale limit like its other series.
 *
 * - `mesh_invite_answer_duration_seconds`: INVITE received → 200 OK sent to
 *   the caller (includes the callee's ring time for B2BUA calls).
 * - `mesh_webhook_fetch_duration_seconds{kind,outcome}`: instruction-document
 *   fetches (primary and fallback together) and status callbacks.
 * - prom-client's default metrics of the process (CPU, memory, heap, GC
 *   histogram, event-loop delay percentiles `nodejs_eventloop_lag_*`,
 *   handles), collected once per process.
 */
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** One metric family in prom-client's JSON form (`Registry.getMetricsAsJSON()`), as stored in a snapshot. */
export interface PromFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
  values: PromValue[];
}

export interface PromValue {
  /** Full sample name (`x_bucket`, `x_sum`, …); absent: the family name. */
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/** INVITE→200 buckets, seconds: set-up time in ms up to ring times of tens of seconds. */
export const INVITE_ANSWER_BUCKETS_S: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Webhook buckets, seconds, up to the longest webhook timeout. */
export const WEBHOOK_BUCKETS_S: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type WebhookKind = 'instructions' | 'status-callback';

/** Histograms of one node (several nodes may share a process in tests: each has its own). */
export class NodeLatencyMetrics {
  readonly registry = new Registry();
  private readonly inviteAnswer = new Histogram({
    name: 'mesh_invite_answer_duration_seconds',
    help: 'Time from an INVITE received to the 200 OK sent to the caller.',
    buckets: [...INVITE_ANSWER_BUCKETS_S],
    registers: [this.registry],
  });
  private readonly webhook = new Histogram({
    name: 'mesh_webhook_fetch_duration_seconds',
    help: 'Latency of webhook requests by kind (instructions: primary and fallback fetch together; status-callback) and outcome (ok, failed).',
    labelNames: ['kind', 'outcome'] as const,
    buckets: [...WEBHOOK_BUCKETS_S],
    registers: [this.registry],
  });

  constructor(private readonly withProcess = true) {}

  observeInviteAnswer(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.inviteAnswer.observe(ms / 1000);
  }

  observeWebhook(kind: WebhookKind, ok: boolean, ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.webhook.observe({ kind, outcome: ok ? 'ok' : 'failed' }, ms / 1000);
  }

  /** This node's histograms, plus the process metrics unless constructed without. */
  async families(): Promise<PromFamily[]> {
    const own = (await this.registry.getMetricsAsJSON()) as unknown as PromFamily[];
    return this.withProcess ? [...own, ...(await processFamilies())] : own;
  }
}

let processRegistry: Registry | undefined;

/** prom-client's default metrics of this process, registered on first use (one event-loop monitor and GC observer per process). */
export async function processFamilies(): Promise<PromFamily[]> {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 10 });
  }
  return (await processRegistry.getMetricsAsJSON()) as unknown as PromFamily[];
}

/** Bounds of what a snapshot may carry: a hostile or broken node cannot blow up the scrape. */
export const PROM_LIMITS = { families: 100, valuesPerFamily: 300, labelsPerValue: 8, labelValueChars: 128, helpChars: 400 } as const;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]{0,99}$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]{0,31}$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary']);
const SUFFIXES = new Set(['', '_bucket', '_sum', '_count', '_total', '_created']);

function parseValue(name: string, v: unknown): PromValue | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.value !== 'number') return undefined;
  const metricName = o.metricName === undefined ? name : o.metricName;
  if (typeof metricName !== 'string' || !metricName.startsWith(name) || !SUFFIXES.has(metricName.slice(name.length))) return undefined;
  const labels = o.labels ?? {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return undefined;
  const entries = Object.entries(labels as Record<string, unknown>);
  if (entries.length > PROM_LIMITS.labelsPerValue) return undefined;
  const out: Record<string, string> = {};
  for (const [k, lv] of entries) {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) return undefined;
    if (typeof lv === 'number') out[k] = lv === Infinity ? '+Inf' : String(lv);
    else if (typeof lv === 'string' && lv.length <= PROM_LIMITS.labelValueChars) out[k] = lv;
    else return undefined;
  }
  return { metricName, labels: out, value: o.value };
}

/**
 * The families of a stored snapshot that are well formed, at most
 * PROM_LIMITS of them; a malformed family is left out whole (never rendered
 * half-way), the others are kept.
 */
export function parsePromFamilies(v: unknown): PromFamily[] {
  if (!Array.isArray(v)) return [];
  const out: PromFamily[] = [];
  for (const f of v.slice(0, PROM_LIMITS.families)) {
    if (typeof f !== 'object' || f === null) continue;
    const o = f as Record<string, unknown>;
    if (typeof o.name !== 'string' || !METRIC_NAME.test(o.name) || typeof o.type !== 'string' || !TYPES.has(o.type)) continue;
    if (typeof o.help !== 'string' || !Array.isArray(o.values) || o.values.length > PROM_LIMITS.valuesPerFamily) continue;
    const values = o.values.map((x) => parseValue(o.name as string, x));
    if (values.some((x) => x === undefined)) continue;
    out.push({ name: o.name, help: o.help.slice(0, PROM_LIMITS.helpChars), type: o.type as PromFamily['type'], values: values as PromValue[] });
  }
  return out;
}
