/** Public entry points of the call router's foundations. */
export { DIALECT_ERRORS, dialectCodeOf, routerError, type DialectErrorCode } from './errors.js';
export { fetchInstructions, type FetchError, type FetchedInstructions, type FetchInstructionsOptions, type InstructionUrl } from './fetch.js';
export { HostBreakers, type HostBreakersOptions } from './host-breakers.js';
export { RedirectGuard, type RedirectGuardOptions } from './redirects.js';
export { parseTwiml, validateTwiml, type TwimlOptions } from './twiml.js';
export type * from './twiml-types.js';
export { parseXml, textOf, type XmlElement, type XmlLimits, type XmlNode, type XmlText } from './xml.js';
