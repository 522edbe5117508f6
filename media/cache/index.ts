/** Public entry points of the media cache. */
export { MediaCache, type CachedMedia, type MediaCacheOptions, type MediaCacheStats } from './media-cache.js';
export { parseCacheControl, type CachePolicy } from './cache-control.js';
export { sniffAudio, synthesizeSpeech, telephonyDurationMs, transcodeToTelephony, type AudioKind } from './transcode.js';
