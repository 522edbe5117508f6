/** Central media service of a home region: records forked branches (RTP G.711 → WAV + metadata) and accepts uploads. */
export { CentralMediaService, type CentralMediaServiceOptions, type OpenBranchRequest } from './service.js';
export { startCentralMediaNode, type CentralMediaNode, type CentralMediaNodeOptions } from './central-media-node.js';
export { BranchRecorder, type BranchRecorderOptions, type BranchRecorderStats } from './branch-recorder.js';
export { createCentralMediaApp, type CentralHttpOptions } from './http.js';
export { UploadStore, readBranchMetadata, type UploadRequest, type UploadResult, type UploadStoreOptions } from './upload-store.js';
export { chooseRecording, readRecording, type ChosenRecording } from './recording.js';
export { assertBranchKey, branchPaths, sha256File, sha256Hex, type BranchMetadata, type BranchSource } from './metadata.js';
export { decodeG711, decodeSample, G711_PAYLOAD_TYPE, G711_SILENCE, type G711Codec } from './g711.js';
export { ReorderBuffer, type ReorderBufferOptions, type ReorderStats, type RtpIn } from './reorder-buffer.js';
export { parseRtp, type RtpHeader } from './rtp.js';
export { parseWav, wavHeader, WavFileWriter, WAV_HEADER_BYTES, type WavInfo } from './wav.js';
export { UdpPortPool } from './port-pool.js';
