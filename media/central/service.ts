/**
 * The central media service of a home region: receives media branches
 * (RTP, G.711) forked from edge media nodes and records each as WAV +
 * metadata, and accepts uploads of the edges' locally stored copies over
 * HTTP. Embeddable: a process starts it with `CentralMediaService.start()`.
 *
 * Bounded: branches open at once (`maxBranches`), UDP ports (the range),
 * recording length (`maxDurationSec`), upload size (`maxUploadBytes`), idle
 * branches finish by themselves (`idleTimeoutMs`).
 */
import { serve, type ServerType } from '@hono/node-server';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { MeshError } from '../../regions/core/errors.js';
import { BranchRecorder, type BranchRecorderStats } from './branch-recorder.js';
import type { G711Codec } from './g711.js';
import { createCentralMediaApp } from './http.js';
import { assertBranchKey, type BranchMetadata } from './metadata.js';
import { UdpPortPool } from './port-pool.js';
import { readRecording, type ChosenRecording } from './recording.js';
import { readBranchMetadata, UploadStore } from './upload-store.js';

export interface CentralMediaServiceOptions {
  /** Region this service belongs to (written into every metadata file). */
  region: string;
  /** Address RTP branches are received on (and given out by openBranch). */
  rtpAddress: string;
  /** UDP port range for branches; even ports are used. */
  portMin: number;
  portMax: number;
  /** Folder of recordings: `<dataDir>/<callSid>/<branchId>.{live,upload}.{wav,json}`. */
  dataDir: string;
  /** HTTP listen address. Default: rtpAddress. */
  httpAddress?: string;
  /** HTTP port; 0 picks a free one. Default 0. */
  httpPort?: number;
  /** Branches recording at once. Default 256. */
  maxBranches?: number;
  /** Longest recording per branch, s. Default 14400 (4 h). */
  maxDurationSec?: number;
  /** Largest upload body. Default 256 MiB (over 4 h of 8 kHz 16-bit mono). */
  maxUploadBytes?: number;
  /** A branch without packets this long finishes by itself. Default 60000 ms. */
  idleTimeoutMs?: number;
}

export interface OpenBranchRequest {
  callSid: string;
  branchId: string;
  codec: G711Codec;
}

export class CentralMediaService {
  private readonly branches = new Map<string, BranchRecorder>();
  /** Keys between openBranch's first check and the recorder being registered. */
  private readonly opening = new Set<string>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly opts: CentralMediaServiceOptions,
    private readonly ports: UdpPortPool,
    private readonly server: ServerType,
    /** Base URL of the HTTP API, e.g. http://127.0.11.30:40123. */
    readonly url: string,
  ) {}

  static async start(opts: CentralMediaServiceOptions): Promise<CentralMediaService> {
    const ports = new UdpPortPool(opts.rtpAddress, opts.portMin, opts.portMax);
    await mkdir(opts.dataDir, { recursive: true });
    // The HTTP app exists before the service; uploads reach the service's open branches through this.
    let self: CentralMediaService | undefined;
    const finishLive = async (callSid: string, branchId: string): Promise<void> => {
      await self?.branches.get(`${callSid}/${branchId}`)?.finish();
    };
    const app = createCentralMediaApp({
      region: opts.region,
      dataDir: opts.dataDir,
      uploads: new UploadStore(opts.dataDir, opts.region, { finishLive }),
      maxUploadBytes: opts.maxUploadBytes ?? 256 * 1024 * 1024,
    });
    const host = opts.httpAddress ?? opts.rtpAddress;
    const server = serve({ fetch: app.fetch, hostname: host, port: opts.httpPort ?? 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', () => resolve());
      server.once('error', (e) => reject(new MeshError('CONFLICT', `central media service cannot listen on ${host}:${opts.httpPort ?? 0}: ${e.message}`, { cause: e })));
    });
    const port = (server.address() as AddressInfo).port;
    self = new CentralMediaService(opts, ports, server, `http://${host}:${port}`);
    return self;
  }

  get openBranches(): number {
    return this.branches.size;
  }

  /** Allocate a port and start recording a branch; RTP sent there is recorded. */
  async openBranch(req: OpenBranchRequest): Promise<{ address: string; port: number }> {
    if (this.closing !== undefined) throw new MeshError('CLOSED', 'central media service is closed');
    assertBranchKey(req.callSid, req.branchId);
    if (req.codec !== 'PCMU' && req.codec !== 'PCMA') throw new MeshError('NOT_ACCEPTABLE_HERE', `codec ${String(req.codec)} is not G.711`);
    const key = `${req.callSid}/${req.branchId}`;
    if (this.branches.has(key) || this.opening.has(key)) throw new MeshError('CONFLICT', `branch ${key} is already open`);
    if (this.branches.size + this.opening.size >= (this.opts.maxBranches ?? 256)) {
      throw new MeshError('SERVICE_UNAVAILABLE', `central media service records ${this.branches.size} branches already`, { retryAfter: 1 });
    }
    this.opening.add(key);
    try {
      if ((await readBranchMetadata(this.opts.dataDir, req.callSid, req.branchId, 'live')) !== undefined) {
        throw new MeshError('CONFLICT', `branch ${key} was already recorded`);
      }
      const socket = await this.ports.bind();
      try {
        const recorder = await BranchRecorder.open({
          callSid: req.callSid,
          branchId: req.branchId,
          codec: req.codec,
          region: this.opts.region,
          dataDir: this.opts.dataDir,
          socket,
          ...(this.opts.maxDurationSec === undefined ? {} : { maxDurationSec: this.opts.maxDurationSec }),
          ...(this.opts.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: this.opts.idleTimeoutMs }),
          onFinished: () => this.branches.delete(key),
        });
        this.branches.set(key, recorder);
        return { address: this.opts.rtpAddress, port: socket.address().port };
      } catch (e) {
        socket.close();
        throw e;
      }
    } finally {
      this.opening.delete(key);
    }
  }

  /** Live counters of an open branch. */
  branchStats(callSid: string, branchId: string): BranchRecorderStats | undefined {
    return this.branches.get(`${callSid}/${branchId}`)?.stats;
  }

  /** Stop recording a branch; resolves with its metadata once WAV and JSON are written. */
  async closeBranch(callSid: string, branchId: string): Promise<BranchMetadata> {
    assertBranchKey(callSid, branchId);
    const key = `${callSid}/${branchId}`;
    const r = this.branches.get(key);
    if (r !== undefined) return r.finish();
    const meta = await readBranchMetadata(this.opts.dataDir, callSid, branchId, 'live');
    if (meta === undefined) throw new MeshError('NOT_FOUND', `no branch ${key}`);
    return meta;
  }

  /** The recording of a branch: the confirmed upload if there is one, else the live copy (recording.ts). */
  recording(callSid: string, branchId: string): Promise<(ChosenRecording & { wav: string }) | undefined> {
    assertBranchKey(callSid, branchId);
    return readRecording(this.opts.dataDir, callSid, branchId);
  }

  /** Finish every open branch and stop the HTTP server. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.branches.values()].map((r) => r.finish()));
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        // Idle keep-alive connections would hold close() open.
        if ('closeAllConnections' in this.server) this.server.closeAllConnections();
      });
    })();
    return this.closing;
  }
}
