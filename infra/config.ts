/**
 * Configuration: loaded in one place, validated with one schema at start,
 * failing fast with a message that names the bad key. Every option has its
 * default written beside it.
 *
 * Sources, later wins: built-in defaults ← JSON file (`--config PATH` or
 * MESH_CONFIG) ← a few environment overrides (see ENV_OVERRIDES).
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { MeshError } from '../regions/core/errors.js';
import { parseCidr } from '../regions/net/cidr.js';
import { parseSecretsKey } from '../regions/auth/secret-box.js';

const ipv4 = z.string().refine((s) => isIP(s) === 4, { message: 'must be an IPv4 address' });
const port = z.number().int().min(1).max(65535);
/** An IPv4 or IPv6 CIDR block or single address; the message says what is wrong with it. */
const cidrBlock = z.string().superRefine((s, ctx) => {
  try {
    parseCidr(s);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
  }
});

export const MediaNodeConfigSchema = z
  .object({
    /** Unique node id, e.g. `us-east-media-1`. */
    id: z.string().min(1).max(64).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only'),
    /** Interface address rtpengine binds RTP to and listens for ng on. */
    address: ipv4,
    /** ng control port (UDP). Default 2223. */
    ngPort: port.default(2223),
    /** RTP port range of this node (inclusive). */
    rtpPortMin: port.default(30000),
    rtpPortMax: port.default(39999),
    /** What the node can do; used by the placement policy. */
    capabilities: z.array(z.string()).default(['relay', 'play', 'record']),
  })
  .strict()
  .refine((n) => n.rtpPortMin < n.rtpPortMax, { message: 'rtpPortMin must be below rtpPortMax', path: ['rtpPortMin'] });

/** Region link endpoint of a region's central media service (recording store). */
const centralSchema = z.object({ region: z.string().min(1), address: ipv4, port }).strict();

export const RouteConfigSchema = z
  .object({
    /** Dialed-number prefix (Request-URI user part), e.g. `+1555`. Longest prefix wins. */
    prefix: z.string().min(1).max(32).regex(/^\+?[0-9*#]+$/, 'digits with optional leading +'),
    /** SIP URI of the destination, e.g. `sip:127.0.0.1:5090`. */
    destination: z.string().regex(/^sips?:/, 'must be a sip: or sips: URI'),
  })
  .strict();

export const ConfigSchema = z
  .object({
    /** Region this node serves. Default `us-east`. */
    region: z.string().min(1).default('us-east'),
    /** Id of this signaling node. Default `<region>-sig-1`. */
    nodeId: z.string().min(1).optional(),
    /** Folder for logs, pid files and Redis data. Default `run` (relative to the project). */
    runDir: z.string().default('run'),
    /**
     * Region catalog file (every region: signaling node, media nodes, central media, links), read by
     * the launcher and the control plane. Default: $MESH_REGIONS, else the embedded infra/config/regions.json.
     */
    regionsFile: z.string().min(1).optional(),
    /**
     * Platform price deck (countries, per-item prices), written to Redis by the control plane at start
     * unless the operator replaced it (PUT /v1/pricing/platform). Default: $MESH_PRICES, else the
     * embedded infra/config/prices.json.
     */
    pricesFile: z.string().min(1).optional(),
    sip: z
      .object({
        /** Listen address for UDP and TCP. Default 127.0.1.1 (us-east). */
        address: ipv4.default('127.0.1.1'),
        /** Listen port. Default 5060. */
        port: port.default(5060),
        /** Transports to listen on. Default both. */
        transports: z.array(z.enum(['UDP', 'TCP'])).min(1).default(['UDP', 'TCP']),
        /** RFC 3261 §17.1.1.1 timer values in ms. Defaults 500 / 4000 / 5000. */
        t1: z.number().int().min(10).max(10000).default(500),
        t2: z.number().int().min(100).max(60000).default(4000),
        t4: z.number().int().min(100).max(60000).default(5000),
        /** Wait for the callee's first response before sending 100 Trying (RFC 3261 §17.2.1, ≤ 200). Default 200 ms. */
        tryingDelayMs: z.number().int().min(0).max(200).default(200),
        /**
         * How long a call's INVITE and BYE transactions linger once done (over UDP), absorbing
         * retransmissions: RFC 3261/6026 say 64*T1 (32 s); the dialog level answers later ones
         * (sent ACKs, ended legs, both kept 64*T1), so 5 s, Kamailio's tm wt_timer, keeps the
         * heap (and its major GCs) small. Clamped to [T4, 64*T1]. Default 5000 ms.
         */
        transactionLingerMs: z.number().int().min(0).max(600000).default(5000),
        /** Largest SIP message accepted. Default 65535 bytes. */
        maxMessageBytes: z.number().int().min(1024).max(1048576).default(65535),
        /** Most header fields in one message. Default 128. */
        maxHeaders: z.number().int().min(16).max(1024).default(128),
        /** Longest header line. Default 8192 bytes. */
        maxLineBytes: z.number().int().min(256).max(65535).default(8192),
        /** Most active transactions (those lingering after their final response, up to transactionLingerMs or 64*T1, are not counted); beyond it new requests get 503. Default 50000. */
        maxTransactions: z.number().int().min(10).default(50000),
        /** Most concurrent calls; beyond it new INVITEs get 503. Default 20000. */
        maxCalls: z.number().int().min(1).default(20000),
        /** Seconds sent in Retry-After with a 503. Default 5. */
        retryAfterSeconds: z.number().int().min(1).max(3600).default(5),
        /**
         * Admission control (signaling/b2bua/admission.ts): a new INVITE is refused with 503 + Retry-After
         * while any limit is passed, before the node's resources run out. 0 turns a check off.
         */
        admission: z
          .object({
            /** p99 event-loop delay (in each of the last two 100 ms windows) above which new calls are refused, ms. Default 100. */
            maxEventLoopDelayMs: z.number().int().min(0).max(60000).default(100),
            /** INVITE transactions awaiting their final response (ringing calls too) at which new calls are refused. Default 1000. */
            maxInvitesInFlight: z.number().int().min(0).max(1000000).default(1000),
            /** Free RTP ports (estimated, on the media nodes taking new calls) below which new calls are refused. Default 64 (16 calls). */
            minFreeMediaPorts: z.number().int().min(0).max(1000000).default(64),
            /**
             * Event-loop utilization (0..1, per 100 ms window) the throttle holds new calls to: above it (five windows in a row) the
             * share of new INVITEs admitted shrinks, below it grows back, so goodput plateaus past the knee. Default 0.95.
             */
            targetEventLoopUtilization: z.number().min(0).max(1).default(0.95),
          })
          .strict()
          .default({}),
        /**
         * SIP over WebSocket for browser and app clients (RFC 7118, signaling/sip/transport/websocket/), on
         * `sip.address`: the embedded default serves `ws://127.0.<n>.1:5066` in each region, subprotocol `sip`.
         */
        websocket: z
          .object({
            /** Listen for clients at all. Default true. */
            enabled: z.boolean().default(true),
            /** Listen port. Default 5066. */
            port: port.default(5066),
            /** Serve `wss` with this certificate and key (PEM file paths); absent: plain `ws`. */
            tls: z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).strict().optional(),
            /** Most connections, upgrades in progress included; beyond it new ones get HTTP 503. Default 1024. */
            maxConnections: z.number().int().min(1).max(100000).default(1024),
            /** Time from TCP accept to a complete upgrade request (slow upgrades are closed with 408). Default 5000 ms. */
            handshakeTimeoutMs: z.number().int().min(100).max(60000).default(5000),
            /** Largest upgrade request head (431 beyond). Default 8192 bytes. */
            maxHandshakeBytes: z.number().int().min(1024).max(65536).default(8192),
            /** A WebSocket ping after this long without input. Default 30000 ms. */
            pingIntervalMs: z.number().int().min(100).max(600000).default(30000),
            /** A connection with no input (pongs included) for this long is closed. Default 90000 ms. */
            idleTimeoutMs: z.number().int().min(200).max(3600000).default(90000),
            /** Most bytes queued for writing on one connection before it is dropped. Default 1048576. */
            maxWriteBufferBytes: z.number().int().min(65536).max(67108864).default(1048576),
            /** Client registrations (signaling/clients/registrar.ts). */
            registrations: z
              .object({
                /** Shortest Expires accepted (other than 0); shorter gets 423 + Min-Expires. Default 60 s. */
                minExpiresSeconds: z.number().int().min(1).max(86400).default(60),
                /** Longest Expires granted (longer is cut). Default 3600 s. */
                maxExpiresSeconds: z.number().int().min(1).max(86400).default(3600),
                /** Expires when the REGISTER names none. Default 600 s. */
                defaultExpiresSeconds: z.number().int().min(1).max(86400).default(600),
                /** Most live registrations of one identity in an account. Default 10. */
                maxPerIdentity: z.number().int().min(1).max(100).default(10),
              })
              .strict()
              .refine((r) => r.minExpiresSeconds <= r.maxExpiresSeconds, { message: 'minExpiresSeconds must not exceed maxExpiresSeconds', path: ['minExpiresSeconds'] })
              .default({}),
          })
          .strict()
          .refine((w) => w.pingIntervalMs < w.idleTimeoutMs, { message: 'pingIntervalMs must be below idleTimeoutMs', path: ['pingIntervalMs'] })
          .default({}),
      })
      .strict()
      .default({}),
    redis: z
      .object({
        /** Redis URL. Default redis://127.0.0.1:6379. */
        url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').default('redis://127.0.0.1:6379'),
        /** Per-command timeout in ms. Default 500. */
        commandTimeoutMs: z.number().int().min(10).max(60000).default(500),
        /** Key prefix, so several meshes can share one Redis. Default `mesh:`. */
        keyPrefix: z.string().default('mesh:'),
      })
      .strict()
      .default({}),
    media: z
      .object({
        /** This region's media nodes (rtpengine). Default: two on 127.0.1.11 and 127.0.1.12. */
        nodes: z.array(MediaNodeConfigSchema).min(1).default([
          { id: 'us-east-media-1', address: '127.0.1.11', ngPort: 2223, rtpPortMin: 30000, rtpPortMax: 34999, capabilities: ['relay', 'play', 'record'] },
          { id: 'us-east-media-2', address: '127.0.1.12', ngPort: 2223, rtpPortMin: 35000, rtpPortMax: 39999, capabilities: ['relay', 'play', 'record'] },
        ]),
        /** Timeout of one ng command in ms. Default 1000. */
        ngTimeoutMs: z.number().int().min(50).max(30000).default(1000),
        /** Interval between health pings in ms. Default 500. */
        healthIntervalMs: z.number().int().min(50).max(60000).default(500),
        /** Time a new call's media offers may take in all: a node that fails or times out hands the offer to the next (signaling/b2bua/offer-retry.ts). Default 2500 ms. */
        offerBudgetMs: z.number().int().min(100).max(30000).default(2500),
        /** How long a media node that answered "Ran out of ports" takes no new calls, ms. Default 5000. */
        fullForMs: z.number().int().min(100).max(600000).default(5000),
        /** UDP port on this node's SIP address where rtpengine reports DTMF digits (its --dtmf-log-dest). Default 5998. */
        dtmfEventPort: port.default(5998),
      })
      .strict()
      .default({}),
    controlPlane: z
      .object({
        /** HTTP listen address of the tenant + operator API. Default 127.0.0.1. */
        address: ipv4.default('127.0.0.1'),
        /** HTTP port. Default 8080. */
        port: port.default(8080),
        /** Operator API (/v1) user. Default `operator`. */
        operatorUser: z.string().min(1).default('operator'),
        /**
         * Operator API password. Default: none here; OPERATOR_PASSWORD or, in the embedded
         * default, a random one written to <runDir>/operator-password on first start.
         */
        operatorPassword: z.string().min(12, 'at least 12 characters').optional(),
        /** Tenant requests per second per account (token bucket rate). Default 50. */
        rateLimitPerSecond: z.number().int().min(1).max(100000).default(50),
        /** Token bucket size per account. Default 100. */
        rateLimitBurst: z.number().int().min(1).max(100000).default(100),
        /** Failed authentications per source address per window before the address gets 429. Default 20. */
        authFailuresPerAddress: z.number().int().min(1).max(100000).default(20),
        /** Failed authentications per account (or API key) SID per window before addresses that failed on it get 429. Default 100. */
        authFailuresPerAccount: z.number().int().min(1).max(1000000).default(100),
        /** Window of the failed-authentication counters, seconds. Default 60. */
        authFailureWindowSeconds: z.number().int().min(1).max(86400).default(60),
        /** Largest request body. Default 1 MiB. */
        maxBodyBytes: z.number().int().min(1024).max(64 * 1048576).default(1048576),
      })
      .strict()
      .default({}),
    mesh: z
      .object({
        /** Signaling nodes of the other regions: where to forward calls homed there, and whose INVITEs to trust. Default none. */
        peers: z
          .array(z.object({ region: z.string().min(1), address: ipv4, port: port.default(5060), transport: z.enum(['UDP', 'TCP']).default('UDP') }).strict())
          .default([]),
        /** Dialed-number prefix → home region (longest prefix wins). Default none: every call is anchored here. */
        homeRules: z.array(z.object({ prefix: z.string().min(1).max(32).regex(/^\+?[0-9*#]+$/, 'digits with optional leading +'), region: z.string().min(1) }).strict()).default([]),
        /**
         * How long a node reuses a dialed number's tenant home (its IncomingPhoneNumber record), ms:
         * a number moved to another home region through the API anchors calls there after at most
         * this long, on every node. The same lifetime applies to the number records application
         * resolution and inbound accounting read (signaling/calls/number-records.ts), so a number
         * given an application starts running it within this long. 0: read the store on every call. Default 2000.
         */
        numberHomeCacheMs: z.number().int().min(0).max(5000).default(2000),
        /**
         * One-way delay (ms) of the link from this region to each other region: placement uses it to
         * reach media nodes of other regions that discovery lists. Default none: remote nodes count as unreachable.
         */
        linkDelaysMs: z.record(z.string().min(1), z.number().min(0).max(60000)).default({}),
        /**
         * One-way delays between every pair of regions (`[from][to]`, ms; the catalog's links):
         * placement for media that is in another region (an application call forwarded here by an
         * edge) measures distances from there. Default none: only `linkDelaysMs` is known.
         */
        linkMatrixMs: z.record(z.string().min(1), z.record(z.string().min(1), z.number().min(0).max(60000))).default({}),
        /**
         * Where an application call entering at an edge has its media: `edge` (default) — the edge
         * forwards the caller's SDP untouched and the home places the application's media leg on a
         * media node where the caller's RTP enters, so one rtpengine handles it; `home` — the edge
         * relays on its own node and the home plays, gathers and records on a node of its own (the
         * media crosses the region link twice; kept for comparison in benchmarks/media-routing).
         */
        applicationMedia: z.enum(['edge', 'home']).default('edge'),
        /**
         * `make start` only: carry traffic between regions through user-space relays that add the
         * catalog's one-way link delays (infra/link-delays.ts). false: regions talk directly. Default true.
         */
        emulateLinkDelay: z.boolean().default(true),
      })
      .strict()
      .default({}),
    recording: z
      .object({
        /**
         * Dialed-number prefixes whose calls are recorded (the caller's side, by the region holding
         * the media) by the central media service of the number's home region (`mesh.homeRules`; no
         * rule: this region). Default none. The embedded default (config/us-east.json) records
         * `+15559` (home us-east), `+44209` (eu-west) and `+91809` (ap-south).
         */
        prefixes: z.array(z.string().min(1).max(32).regex(/^\+?[0-9*#]+$/, 'digits with optional leading +')).default([]),
        /**
         * Region link endpoint of a central media service: the one of its region, and the one used
         * for a home region `centrals` has none for. Default none; `prefixes` need it or `centrals`.
         * The embedded default: us-east's, 127.0.1.20:8090.
         */
        central: centralSchema.optional(),
        /**
         * Central media services of further home regions, at most one per region (with `central`).
         * Default none; `make start` adds every catalog region's, reached through the link relays.
         */
        centrals: z.array(centralSchema).max(64).default([]),
      })
      .strict()
      .default({}),
    router: z
      .object({
        /** Media cache (Play URLs, speech, beep), persistent across restarts. Default `<runDir>/media-cache`. */
        cacheDir: z.string().min(1).optional(),
        /** Finished recordings (`<RecordingSid>.wav`). Default `<runDir>/recordings`. */
        recordingsDir: z.string().min(1).optional(),
        /** Base of RecordingUrl: the control plane's public URL. Default `http://<controlPlane.address>:<controlPlane.port>`. */
        publicBaseUrl: z.string().url().optional(),
        /** Largest Play media fetched, in bytes. Default 10 MiB. */
        maxMediaBytes: z.number().int().min(1024).max(512 * 1024 * 1024).default(10 * 1024 * 1024),
        /** Time limit of one Play media fetch in ms. Default 10000. */
        mediaFetchTimeoutMs: z.number().int().min(100).max(120000).default(10000),
        /** Calls running applications at once on this node; beyond it new ones get the spoken error. Default 10000. */
        maxActiveCalls: z.number().int().min(1).max(1000000).default(10000),
      })
      .strict()
      .default({}),
    webhooks: z
      .object({
        /**
         * Destinations the platform may send tenants' requests to (webhooks, instruction documents, action
         * URLs, status and recording callbacks, Play media), checked on every resolved address and redirect.
         * `development` (default): only `deny` is refused, so application servers on loopback work.
         * `production`: also loopback, link-local, private, CGNAT, unspecified, multicast and broadcast
         * ranges (IPv4-mapped IPv6 forms included) and this node's own addresses.
         */
        profile: z.enum(['development', 'production']).default('development'),
        /** Only addresses inside one of these blocks (CIDR or single address, IPv4 or IPv6) are reached. Default every address. */
        allow: z.array(cidrBlock).max(1024).default(['0.0.0.0/0', '::/0']),
        /** Blocks refused on top of the profile's; deny wins over allow. Default none. */
        deny: z.array(cidrBlock).max(1024).default([]),
      })
      .strict()
      .default({}),
    discovery: z
      .object({
        /**
         * Adapter: `redis`, `etcd` or `consul`. Default: `consul` when `consul.address` (or CONSUL_HTTP_ADDR) is set,
         * else `etcd` when `etcd.endpoints` is set, else `redis`.
         */
        kind: z.enum(['redis', 'etcd', 'consul']).optional(),
        /** Redis used for discovery. Default: `redis.url`. */
        redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
        /** Prefix of discovery's Redis keys and channel, and of its etcd keys. Default `<redis.keyPrefix>disc:`. */
        keyPrefix: z.string().min(1).max(128).optional(),
        /** A registration is dead this long after its last heartbeat; heartbeats go every ttlMs/3 (Consul's minimum TTL is 1 s). Default 3000 ms. */
        ttlMs: z.number().int().min(1000).max(600000).default(3000),
        /** Timeout of every call to Redis, etcd or Consul. Default 1000 ms. */
        requestTimeoutMs: z.number().int().min(50).max(30000).default(1000),
        /** How often each registration is checked and repaired (re-registered when discovery lost it). Default 2000 ms. */
        reconcileMs: z.number().int().min(100).max(600000).default(2000),
        /** Longest wait between retries while discovery is unreachable; the wait doubles from 250 ms up to this. Default 10000 ms. */
        maxBackoffMs: z.number().int().min(250).max(600000).default(10000),
        /** Most often a node's changed load is re-announced. Default 2000 ms. */
        loadUpdateMs: z.number().int().min(100).max(600000).default(2000),
        consul: z
          .object({
            /** Agent, `host:port` or `http[s]://host:port`. Default: CONSUL_HTTP_ADDR; none when unset. */
            address: z.string().min(1).max(256).optional(),
            /** ACL token. Default: CONSUL_HTTP_TOKEN; none when unset. */
            token: z.string().min(1).max(256).optional(),
            /** Agent of each region's datacenter (`host:port`), where that region's nodes register. Default: `address` for all. */
            agents: z.record(z.string().min(1), z.string().min(1).max(256)).default({}),
            /** Longest wait of one blocking query. Default 5000 ms. */
            watchWaitMs: z.number().int().min(100).max(300000).default(5000),
          })
          .strict()
          .default({}),
        etcd: z
          .object({
            /**
             * Client URLs of the etcd cluster's members (`http[s]://host:port`), tried in turn.
             * Default: none set, which with `kind: etcd` means `['http://127.0.0.1:2379']`.
             */
            endpoints: z
              .array(z.string().url().regex(/^https?:\/\/[^/]+\/?$/, 'must be http[s]://host:port'))
              .min(1)
              .max(16)
              .optional(),
            /** A watch stream is re-opened this often from the last revision seen, so a silently dead connection is noticed. Default 30000 ms. */
            watchRenewMs: z.number().int().min(1000).max(600000).default(30000),
          })
          .strict()
          .default({}),
      })
      .strict()
      .default({}),
    /** Static routes until the control plane owns them. Default: +1555 → sip:127.0.0.1:5090. */
    routes: z.array(RouteConfigSchema).default([{ prefix: '+1555', destination: 'sip:127.0.0.1:5090' }]),
    /** Seconds a call without answer may ring before 408. Default 180 (Timer C, RFC 3261 §16.6 step 11). */
    noAnswerTimeoutSeconds: z.number().int().min(1).max(3600).default(180),
    /**
     * Platform secrets key: 32 bytes as 64 hex digits or base64. Seals API key secrets at rest
     * (AES-256-GCM) so access tokens signed with them can be verified. Default: none here;
     * SECRETS_KEY or, in the embedded default, a random one written to <runDir>/secrets-key on first
     * start. The control plane does not start without one. Changing it leaves earlier keys unable to
     * verify tokens (they still authenticate API requests).
     */
    secretsKey: z
      .string()
      .superRefine((s, ctx) => {
        try {
          parseSecretsKey(s);
        } catch {
          ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be 32 bytes as 64 hex digits or base64 (43-44 characters)' });
        }
      })
      .optional(),
    /** Log level. Default info. */
    logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    /**
     * V8's old-generation growth after each major GC in a signaling node: the heap may
     * reach (1 + N/100) × what survived before the next one (V8's --heap-growing-percent).
     * Each major GC is a 30-60 ms latency spike for the calls set up meanwhile (measured at
     * 400-1200 calls/s), so fewer of them, for more memory, is the trade a call server wants.
     * 800 against 300, alternated runs at 800 / 1200 calls/s: p99 6-11 / 31-57 ms against
     * 19-68 / 88-100 ms; peak RSS at 1200 calls/s about 0.5-0.6 GB.
     * 0 leaves V8's own choice (1.1-4, by GC speed). Default 800 (at most 9× the live heap).
     */
    heapGrowingPercent: z.number().int().min(0).max(1000).default(800),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type MediaNodeConfig = z.infer<typeof MediaNodeConfigSchema>;
export type RouteConfig = z.infer<typeof RouteConfigSchema>;

/** Environment variables that override single keys. */
export const ENV_OVERRIDES: Record<string, (c: Record<string, any>, v: string) => void> = {
  REDIS_URL: (c, v) => ((c.redis ??= {}).url = v),
  SIP_ADDRESS: (c, v) => ((c.sip ??= {}).address = v),
  SIP_PORT: (c, v) => ((c.sip ??= {}).port = Number(v)),
  LOG_LEVEL: (c, v) => (c.logLevel = v),
  OPERATOR_PASSWORD: (c, v) => ((c.controlPlane ??= {}).operatorPassword = v),
  SECRETS_KEY: (c, v) => (c.secretsKey = v),
  CONTROL_PLANE_PORT: (c, v) => ((c.controlPlane ??= {}).port = Number(v)),
  CONSUL_HTTP_ADDR: (c, v) => (((c.discovery ??= {}).consul ??= {}).address = v),
  CONSUL_HTTP_TOKEN: (c, v) => (((c.discovery ??= {}).consul ??= {}).token = v),
  DISCOVERY_KIND: (c, v) => ((c.discovery ??= {}).kind = v),
};

/** Validate a raw object; throws MeshError('CONFIG_INVALID') naming every bad key. */
export function parseConfig(raw: unknown): Config {
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new MeshError('CONFIG_INVALID', `invalid configuration:\n${lines.join('\n')}`);
  }
  const rec = r.data.recording;
  if (rec.prefixes.length > 0 && rec.central === undefined && rec.centrals.length === 0) {
    throw new MeshError('CONFIG_INVALID', 'invalid configuration:\n  recording.central: required (or recording.centrals) when recording.prefixes is set');
  }
  const centralRegions = [...(rec.central === undefined ? [] : [rec.central.region]), ...rec.centrals.map((c) => c.region)];
  const twice = rec.centrals.findIndex((c, i) => centralRegions.indexOf(c.region) !== i + (rec.central === undefined ? 0 : 1));
  if (twice >= 0) {
    throw new MeshError('CONFIG_INVALID', `invalid configuration:\n  recording.centrals.${twice}.region: a second central media service for region ${rec.centrals[twice]?.region}`);
  }
  if (r.data.discovery.kind === 'consul' && r.data.discovery.consul.address === undefined) {
    throw new MeshError('CONFIG_INVALID', 'invalid configuration:\n  discovery.consul.address: required when discovery.kind is consul (or set CONSUL_HTTP_ADDR)');
  }
  // Cross-key rule: a home region must be this node's own or one it has a peer for.
  const bad = r.data.mesh.homeRules
    .map((rule, i) => ({ rule, i }))
    .filter(({ rule }) => rule.region !== r.data.region && !r.data.mesh.peers.some((p) => p.region === rule.region));
  if (bad.length > 0) {
    const lines = bad.map(({ rule, i }) => `  mesh.homeRules.${i}.region: no peer signaling node for region ${rule.region}`);
    throw new MeshError('CONFIG_INVALID', `invalid configuration:\n${lines.join('\n')}`);
  }
  return r.data;
}

/** Load from a JSON file (optional) plus environment overrides, then validate. */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.MESH_CONFIG;
  let raw: Record<string, any> = {};
  if (file !== undefined && file !== '') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new MeshError('CONFIG_INVALID', `cannot read configuration file ${file}: ${(e as Error).message}`);
    }
    try {
      raw = JSON.parse(text) as Record<string, any>;
    } catch (e) {
      throw new MeshError('CONFIG_INVALID', `configuration file ${file} is not valid JSON: ${(e as Error).message}`);
    }
  }
  for (const [name, apply] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v !== undefined && v !== '') apply(raw, v);
  }
  return parseConfig(raw);
}

/** `--config PATH` from argv, if given. */
export function configPathFromArgv(argv: readonly string[]): string | undefined {
  const i = argv.indexOf('--config');
  if (i >= 0) return argv[i + 1];
  const eq = argv.find((a) => a.startsWith('--config='));
  return eq?.slice('--config='.length);
}
