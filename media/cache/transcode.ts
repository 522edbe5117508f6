/**
 * Convert audio to the format the media engine plays to a telephony leg:
 * 8 kHz, mono, 16-bit signed PCM in a WAV container. Uses sox, or ffmpeg
 * when present (ffmpeg also reads MP3, which Debian's sox build does not).
 * Text-to-speech goes through espeak-ng and then the same conversion.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { MeshError } from '../../regions/core/errors.js';
import { runProgram } from './process.js';

export type AudioKind = 'wav' | 'mp3' | 'ogg' | 'flac' | 'aiff' | 'au';

/** Recognise an audio container by its magic bytes; undefined when it is not audio we know. */
export function sniffAudio(b: Buffer): AudioKind | undefined {
  if (b.length < 12) return undefined;
  const a4 = b.subarray(0, 4).toString('latin1');
  if (a4 === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WAVE') return 'wav';
  if (a4 === 'OggS') return 'ogg';
  if (a4 === 'fLaC') return 'flac';
  if (a4 === 'FORM' && /^AIF[FC]$/.test(b.subarray(8, 12).toString('latin1'))) return 'aiff';
  if (a4 === '.snd') return 'au';
  if (b.subarray(0, 3).toString('latin1') === 'ID3') return 'mp3';
  // MPEG audio frame sync: 11 set bits.
  if (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0) return 'mp3';
  return undefined;
}

export interface TranscoderOptions {
  /** Scratch directory for temporary files. */
  tmpDir: string;
  /** Per-conversion time limit. Default 30000 ms. */
  timeoutMs?: number;
  /** 'sox' or 'ffmpeg'; default: ffmpeg when installed, else sox. */
  tool?: 'sox' | 'ffmpeg';
}

function findTool(): 'sox' | 'ffmpeg' {
  return existsSync('/usr/bin/ffmpeg') ? 'ffmpeg' : 'sox';
}

/** 8 kHz mono s16 WAV bytes from any audio we can read. Throws UNSUPPORTED_MEDIA_TYPE for non-audio or corrupt input. */
export async function transcodeToTelephony(input: Buffer, o: TranscoderOptions): Promise<Buffer> {
  const kind = sniffAudio(input);
  if (kind === undefined) throw new MeshError('UNSUPPORTED_MEDIA_TYPE', 'body is not a recognised audio format');
  const tool = o.tool ?? findTool();
  if (tool === 'sox' && kind === 'mp3') throw new MeshError('UNSUPPORTED_MEDIA_TYPE', 'MP3 needs ffmpeg, which is not installed');
  const id = randomUUID();
  const src = join(o.tmpDir, `${id}.in.${kind}`);
  const dst = join(o.tmpDir, `${id}.out.wav`);
  try {
    await writeFile(src, input);
    await convertFile(src, dst, tool, o.timeoutMs ?? 30_000);
    const out = await readFile(dst);
    if (wavDataBytes(out) === 0) throw new MeshError('UNSUPPORTED_MEDIA_TYPE', 'audio decodes to no samples');
    return out;
  } finally {
    await rm(src, { force: true });
    await rm(dst, { force: true });
  }
}

async function convertFile(src: string, dst: string, tool: 'sox' | 'ffmpeg', timeoutMs: number): Promise<void> {
  if (tool === 'ffmpeg') {
    await runProgram('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', src, '-ar', '8000', '-ac', '1', '-c:a', 'pcm_s16le', '-f', 'wav', dst], { timeoutMs });
  } else {
    // -V1: errors only; the output options select the telephony format.
    await runProgram('sox', ['-V1', src, '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'wav', dst], { timeoutMs });
  }
}

/**
 * Map a dialect voice + language to an espeak-ng voice: the language picks the
 * voice ("en-US" → "en-us"), "woman"/"alice" and Polly-style female names pick
 * a female variant.
 */
export function espeakVoice(voice: string, language: string): string {
  const lang = language.toLowerCase().replace(/[^a-z0-9-]/g, '') || 'en-us';
  const female = /^(woman|alice)$/i.test(voice);
  return female ? `${lang}+f3` : lang;
}

export interface SynthOptions extends TranscoderOptions {
  voice: string;
  language: string;
}

/** Speak `text` with espeak-ng and convert it to the telephony format. */
export async function synthesizeSpeech(text: string, o: SynthOptions): Promise<Buffer> {
  const id = randomUUID();
  const raw = join(o.tmpDir, `${id}.tts.wav`);
  const dst = join(o.tmpDir, `${id}.out.wav`);
  const timeoutMs = o.timeoutMs ?? 30_000;
  try {
    // Text on stdin, never as an argument: it cannot be mistaken for an option.
    await runProgram('espeak-ng', ['-v', espeakVoice(o.voice, o.language), '-w', raw, '--stdin'], { timeoutMs, stdin: text });
    await convertFile(raw, dst, o.tool ?? findTool(), timeoutMs);
    return await readFile(dst);
  } finally {
    await rm(raw, { force: true });
    await rm(dst, { force: true });
  }
}

/** A sine tone in the telephony format (sox's synth). */
export async function synthesizeTone(o: { hz: number; seconds: number; tmpDir: string; timeoutMs?: number }): Promise<Buffer> {
  if (!(o.hz > 0 && o.hz < 4000) || !(o.seconds > 0 && o.seconds <= 10)) throw new MeshError('BAD_REQUEST', 'tone must be 0-4000 Hz and 0-10 s');
  const dst = join(o.tmpDir, `${randomUUID()}.tone.wav`);
  try {
    await runProgram('sox', ['-V1', '-n', '-r', '8000', '-c', '1', '-b', '16', '-e', 'signed-integer', '-t', 'wav', dst, 'synth', String(o.seconds), 'sine', String(o.hz), 'vol', '0.5'], { timeoutMs: o.timeoutMs ?? 30_000 });
    return await readFile(dst);
  } finally {
    await rm(dst, { force: true });
  }
}

/** Bytes of sample data in a WAV file (the "data" chunk), 0 when there is none. */
export function wavDataBytes(wav: Buffer): number {
  let p = 12;
  while (p + 8 <= wav.length) {
    const id = wav.subarray(p, p + 4).toString('latin1');
    const size = wav.readUInt32LE(p + 4);
    if (id === 'data') return Math.min(size, wav.length - p - 8);
    p += 8 + size + (size & 1);
  }
  return 0;
}

/** Duration in ms of an 8 kHz mono 16-bit WAV. */
export function telephonyDurationMs(wav: Buffer): number {
  return Math.round((wavDataBytes(wav) / 16_000) * 1000);
}
