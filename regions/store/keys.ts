/**
 * Every Redis key name of the mesh, in one place: the control plane, the
 * signaling nodes and the media side build keys only through `keys(prefix)`,
 * so a reader finds the whole layout here and two writers cannot drift apart.
 * The record modules (call-records.ts, numbers.ts, queues.ts, usage.ts, …)
 * are the only users of their kind's keys.
 *
 * Conventions: every key starts with the configured prefix (default `mesh:`);
 * records are JSON strings; per-account indexes are sorted sets scored by
 * creation time in ms. The strings are the stored layout: changing one is a
 * data migration.
 */
const buildKeys = (prefix: string) => ({
  // Accounts (control-plane/store/accounts.ts)
  account: (sid: string) => `${prefix}account:${sid}`,
  /** Sorted set of subaccount SIDs of an owner. */
  subaccounts: (ownerSid: string) => `${prefix}account:${ownerSid}:subaccounts`,
  /** SID of the development account `make start` creates once. */
  devAccount: () => `${prefix}dev-account`,

  // Call records (call-records.ts)
  call: (sid: string) => `${prefix}callrec:${sid}`,
  /** Sorted set of call SIDs per account, scored by creation ms. */
  accountCalls: (accountSid: string) => `${prefix}account:${accountSid}:calls`,
  /** Redis stream of CallCommand JSON for a region's signaling nodes (field `cmd`). */
  commands: (region: string) => `${prefix}cmd:${region}`,

  // A B2BUA's live-call state for failover (signaling/b2bua/call-store.ts): not the call record
  /** A live call's SIP/media state (JSON, TTL), by CallSid. */
  liveCall: (callSid: string) => `${prefix}call:${callSid}`,
  /** Set of the CallSids a signaling node holds live. */
  nodeLiveCalls: (nodeId: string) => `${prefix}node:${nodeId}:calls`,
  /** A signaling node's lease (infra/signaling-node.ts): held while the node runs, so a successor waits for it. */
  signalingLease: (nodeId: string) => `${prefix}sig-lease:${nodeId}`,
  /** The last takeover of a signaling node by its standby (takeovers.ts): JSON, TTL 1 h. */
  signalingTakeover: (nodeId: string) => `${prefix}sig-takeover:${nodeId}`,

  // Incoming numbers (numbers.ts)
  number: (sid: string) => `${prefix}number:${sid}`,
  /** E.164 → number SID: unique platform-wide, what the call side looks dialed numbers up by. */
  numberByE164: (e164: string) => `${prefix}number-e164:${e164}`,
  /** Sorted set of incoming number SIDs per account. */
  accountNumbers: (accountSid: string) => `${prefix}account:${accountSid}:numbers`,

  // Carriers (carriers.ts, control-plane/operator/carrier-repository.ts)
  carrier: (sid: string) => `${prefix}carrier:${sid}`,
  /** Set of carrier SIDs per region. */
  regionCarriers: (region: string) => `${prefix}region:${region}:carriers`,

  // Usage (usage.ts)
  /** Hash category|region|yyyy-mm-dd → quantity, per account. */
  usage: (accountSid: string) => `${prefix}account:${accountSid}:usage`,
  /** Hash category|region|yyyy-mm-dd|tag → minutes of tagged calls, per account (tag-usage.ts). */
  usageByTag: (accountSid: string) => `${prefix}account:${accountSid}:usage-tags`,

  // Prices (regions/pricing/store.ts)
  /** Hash of the platform price deck: `version` (integer, bumped on every write), `source` (configuration|operator), `deck` (JSON). */
  platformPriceDeck: () => `${prefix}price-deck`,
  /** Hash of an account's sparse price deck (set by its parent, or by the operator for a top-level account): item|prefix|originationPrefix → entry JSON. */
  accountPriceDeck: (accountSid: string) => `${prefix}account:${accountSid}:price-deck`,
  /** The rate captured when a B2BUA call was answered (JSON, TTL), by CallSid: what its price is computed from when it ends. */
  callRate: (callSid: string) => `${prefix}call-rate:${callSid}`,

  // Node metrics and operator state (node-metrics.ts)
  /** Per-node metrics snapshot (JSON string, TTL). */
  nodeMetrics: (nodeId: string) => `${prefix}metrics:node:${nodeId}`,
  /** Set of node ids that published metrics. */
  metricsNodes: () => `${prefix}metrics:nodes`,
  /** List of placement trace entries (JSON) of a call, keyed by CallSid or the SIP Call-ID of its first leg. */
  placements: (callKey: string) => `${prefix}placements:${callKey}`,
  /** SIP Call-ID under which a B2BUA call's trace is kept, by CallSid: the trace stays findable once the live-call record is gone. */
  placementsAlias: (callSid: string) => `${prefix}placements-of:${callSid}`,
  /** Region whose signaling node runs the call behind rtpengine session `callId` (digit-routes.ts), string with TTL. */
  digitRoute: (callId: string) => `${prefix}digit-route:${callId}`,
  /** Hash node id → ISO time it was drained, by an operator drill (drained-nodes.ts); undrain deletes the field. */
  drainedNodes: () => `${prefix}drained`,
  /** Set of region pairs `a|b` (a < b) whose emulated link is cut by an operator drill (link-cuts.ts). */
  linkCuts: () => `${prefix}link-cuts`,

  // Queues (queues.ts)
  /** QueueRecord. */
  queue: (sid: string) => `${prefix}queue:${sid}`,
  /** Sorted set of queue SIDs per account, scored by creation ms. */
  accountQueues: (accountSid: string) => `${prefix}account:${accountSid}:queues`,
  /** Hash FriendlyName → queue SID per account: how `Enqueue` and `Dial`→`Queue` find a queue. */
  queueNames: (accountSid: string) => `${prefix}account:${accountSid}:queue-names`,
  /** Sorted set of call SIDs waiting in a queue, scored by enqueue ms (position = rank + 1; strictly increasing scores keep FIFO). */
  queueMembers: (queueSid: string) => `${prefix}queue:${queueSid}:members`,
  /** Hash `epoch` (ms) + `sum` (Σ floor(enqueue ms) − epoch over current members): average wait in O(1). */
  queueWaitStats: (queueSid: string) => `${prefix}queue:${queueSid}:wait`,

  // Recordings (recordings.ts)
  /** RecordingRecord. */
  recording: (sid: string) => `${prefix}recording:${sid}`,
  /** Sorted set of recording SIDs per account, scored by creation ms. */
  accountRecordings: (accountSid: string) => `${prefix}account:${accountSid}:recordings`,

  // Applications (applications.ts)
  application: (sid: string) => `${prefix}application:${sid}`,
  accountApplications: (accountSid: string) => `${prefix}account:${accountSid}:applications`,

  // Trackers (trackers.ts, tracker-measurements.ts)
  /** TrackerRecord. */
  tracker: (sid: string) => `${prefix}tracker:${sid}`,
  /** Sorted set of tracker SIDs per account, scored by creation ms. */
  accountTrackers: (accountSid: string) => `${prefix}account:${accountSid}:trackers`,
  /** Set of the tracker SIDs other accounts (its parent) shared with this account, read-only. */
  sharedTrackers: (accountSid: string) => `${prefix}account:${accountSid}:shared-trackers`,
  /** Hash of a tracker's measurement counters for one UTC day: fields `HH|counter` per hour and `d|counter` for the day (expires). */
  trackerDay: (trackerSid: string, day: string) => `${prefix}tracker:${trackerSid}:day:${day}`,

  // Tenant API credentials and limits (control-plane/store/; API keys: api-keys.ts)
  apiKey: (sid: string) => `${prefix}apikey:${sid}`,
  accountApiKeys: (accountSid: string) => `${prefix}account:${accountSid}:apikeys`,
  authorization: (sid: string) => `${prefix}authorization:${sid}`,
  accountAuthorizations: (accountSid: string) => `${prefix}account:${accountSid}:authorizations`,
  /** Subaccount SID → authorization SID that created it. */
  authorizationBySubaccount: (subaccountSid: string) => `${prefix}authorization-sub:${subaccountSid}`,
  /** Token bucket state of an account's API requests (hash: tokens, at). */
  rateLimit: (accountSid: string) => `${prefix}ratelimit:${accountSid}`,
  /** Failed-authentication counter of one source address or one claimed SID (string, expires with its window). */
  authFailures: (scope: 'address' | 'principal', id: string) => `${prefix}authfail:${scope}:${id}`,

  // Browser/app client registrations (client-registrations.ts): `identity` is URI-encoded in key names
  /** One binding of `client:<identity>` (JSON, TTL = its Expires): contact, region, node, connection. */
  clientBinding: (accountSid: string, identity: string, bindingId: string) => `${prefix}client:${accountSid}:${encodeURIComponent(identity)}:${bindingId}`,
  /** Sorted set of an identity's binding ids, scored by expiry ms (readers drop expired members). */
  clientBindings: (accountSid: string, identity: string) => `${prefix}client-bindings:${accountSid}:${encodeURIComponent(identity)}`,
  /** Set of `accountSid|identity|bindingId` a signaling node holds connections for (purged when the node restarts). */
  nodeClientBindings: (nodeId: string) => `${prefix}node:${nodeId}:client-bindings`,

  // Discovery (regions/discovery/) keeps its own keys under this namespace, in Redis or etcd.
  /** Default key prefix of the discovery adapters (infra/discovery.ts). */
  discoveryNamespace: () => `${prefix}disc:`,
});

export type StoreKeys = ReturnType<typeof buildKeys>;

/** Built once per prefix: the per-call writes ask for their keys on every save, and each build is some fifty closures. */
const built = new Map<string, StoreKeys>();
/** Prefixes kept built; a process uses one or two (tests use more), so past this the table starts again. */
const MAX_BUILT_PREFIXES = 64;

export function keys(prefix: string): StoreKeys {
  let k = built.get(prefix);
  if (k === undefined) {
    if (built.size >= MAX_BUILT_PREFIXES) built.clear();
    k = buildKeys(prefix);
    built.set(prefix, k);
  }
  return k;
}
