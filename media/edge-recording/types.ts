/** Options and results of the edge's branch recorder (edge-branch-recorder.ts). */
import type { Redis } from 'ioredis';
import type { BackoffOptions } from '../../regions/link/backoff.js';
import type { BranchMetadata } from '../central/metadata.js';
import type { UploaderOptions } from '../store/uploader.js';

/** A home region's central media service, as this region reaches it. */
export interface CentralEndpoint {
  /** The home region it records for. */
  region: string;
  /** Its region link endpoint (through the link relay when regions differ in the embedded default). */
  host: string;
  port: number;
}

export interface EdgeBranchRecorderOptions {
  region: string;
  nodeId: string;
  /** Central media services, at most one per home region; one region link each. At least one. */
  centrals: readonly CentralEndpoint[];
  /** Region of the central service that records a dialed number; undefined: none can. Default: the first central for every call. */
  centralFor?: (dialed: string) => string | undefined;
  /** Keep a local copy of each branch and upload it after the call. Default: none (the live branch only). */
  localStore?: {
    /** Folder of local copies and the upload manifest; must survive restarts (e.g. `<runDir>/media-store`). */
    dir: string;
    /** Address the local fork is received on (the signaling node's own). */
    rtpAddress: string;
    /** UDP ports of local forks. Default 40000–40999. */
    portMin?: number;
    portMax?: number;
    /** Uploader tuning (timeouts, backoff, queue bound, deleteAfterUpload). */
    upload?: Omit<UploaderOptions, 'centralUrl' | 'manifestPath' | 'onDelivered'>;
  };
  /** Where usage is written and the dialed number's account looked up. Default: no usage. */
  usage?: { redis: Redis; keyPrefix: string };
  /** Reconnection delays of the link to the central service. Default 100 ms doubling to 2 s: a healed link is noticed quickly. */
  linkBackoff?: BackoffOptions;
}

/** What became of one branch when its call ended. */
export interface StoppedBranch {
  /** The central service closed the live copy (its checksum). */
  live?: { checksumSha256: string; bytes: number };
  /** The local copy, finished and queued for upload. */
  local?: BranchMetadata;
}

export interface DeliveredBranch {
  callSid: string;
  branchId: string;
  sha256: string;
  /** Epoch ms of the central service's confirmation. */
  at: number;
}
