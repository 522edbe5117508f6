/** Public entry point of the SIP message layer (RFC 3261 §7, §19, §20, §25). */
export * from './types.js';
export * from './headers.js';
export { SipParseError, isSipParseError } from './parse-error.js';
export { parseSipMessage } from './parser.js';
export { serializeSipMessage } from './serializer.js';
export { ownOptional, ownString } from './own-string.js';
export { SipStreamFramer } from './framer.js';
export type { SipStreamFramerOptions } from './framer.js';
export { parseUri, formatUri } from './uri.js';
export {
  parseNameAddr,
  formatNameAddr,
  getTag,
  parseVia,
  formatVia,
  parseCSeq,
  formatCSeq,
  parseContentLength,
  parseMaxForwards,
} from './headers-parse.js';
export { parseParams, formatParams } from './params.js';
export { createResponse, reasonPhrase, DEFAULT_REASONS } from './response.js';
export type { CreateResponseOptions } from './response.js';
export { generateBranch, generateTag, generateCallId, BRANCH_MAGIC_COOKIE } from './identifiers.js';
