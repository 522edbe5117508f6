/** Public entry points of the call router: foundations (fetch, parse, bounds) and the verb executor (CallRouter). */
export { DIALECT_ERRORS, dialectCodeOf, routerError, type DialectErrorCode } from './errors.js';
export { fetchInstructions, type FetchError, type FetchedInstructions, type FetchInstructionsOptions, type InstructionUrl } from './fetch.js';
export { HostBreakers, type HostBreakersOptions } from './host-breakers.js';
export { RedirectGuard, type RedirectGuardOptions } from './redirects.js';
export { parseTwiml, validateTwiml, type TwimlOptions } from './twiml.js';
export type * from './twiml-types.js';
export { parseXml, textOf, type XmlElement, type XmlLimits, type XmlNode, type XmlText } from './xml.js';
export type { CallLeg, CallQueues, DialOutcome, DialRequest, LegDialer, LegEndReason, MediaEndpoint, QueuePlace, RecordingHandle, RecordingResult, RecordingSink } from './leg.js';
export {
  CallRouter, ERROR_SPEECH, type AppTarget, type CallRouterDeps, type MediaFile, type RouterCall, type RouterFailure, type RouterLimits,
  type RouterMedia, type RunEnd, type RunSummary,
} from './runner.js';
