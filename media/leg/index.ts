/** The media half of a call leg on rtpengine: play, digits in and out, bridging, recording. */
export { LegMedia, type LegMediaOptions } from './leg-media.js';
export { answerDirection, DISCARD_ENDPOINT, PLATFORM_TELEPHONE_EVENT_PT, platformSdp, sdpAudioTarget, type PlatformSdpOptions } from './platform-sdp.js';
export {
  DtmfEvents,
  parseDtmfReport,
  type DtmfDigitEvent,
  type DtmfEventsOptions,
  type DtmfEventsStats,
  type DtmfListener,
  type DtmfListenOptions,
  type DtmfParseResult,
  type DtmfSubscriber,
} from './dtmf-events.js';
export {
  digitToEvent,
  eventToDigit,
  parseDigitString,
  rtpPacket,
  telephoneEventPayload,
  TelephoneEventSender,
  type DigitStep,
  type DtmfToneOptions,
  type TelephoneEvent,
} from './rfc4733.js';
export { callKey, startLegRecording, type LegRecordingHandle, type LegRecordingRequest } from './leg-recording.js';
export type { MediaEndpoint, RecordingHandle, RecordingResult } from '../../regions/core/leg-media.js';
