/** Media forks through rtpengine subscriptions (subscribe request / answer / unsubscribe). */
export { forkBranch, type ForkBranchRequest, type ForkHandle, type ForkStream, type ForkTarget } from './fork-branch.js';
export { buildSubscribeAnswer, choosePayloadType, parseSubscribeOffer, type OfferedMedia } from './subscribe-sdp.js';
