/** Mesh protocol: the schema (mesh.proto) and its typed codec. */
export { encodeEnvelope, decodeEnvelope, DEFAULT_MAX_MESSAGE_BYTES, type CodecOptions } from './codec.js';
export { findMeshProto, meshRoot, meshType } from './schema.js';
export * from './types.js';
