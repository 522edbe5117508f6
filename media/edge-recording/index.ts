/** The edge side of recording across regions: live branch to the home's central media service plus a local copy, uploaded until confirmed. */
export { EdgeBranchRecorder } from './edge-branch-recorder.js';
export { BranchDeliveries } from './deliveries.js';
export { accountOfNumber, BranchUsage } from './usage.js';
export type { CentralEndpoint, DeliveredBranch, EdgeBranchRecorderOptions, StoppedBranch } from './types.js';
