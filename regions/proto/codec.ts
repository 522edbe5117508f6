/**
 * Typed encode/decode of mesh Envelopes. Bounded: an encoded envelope larger
 * than `maxBytes` is refused on both encode and decode (before parsing), so a
 * peer cannot make us allocate or parse without limit. Malformed input becomes
 * MeshError('BAD_REQUEST'), an oversize one MeshError('TOO_LARGE').
 */
import protobuf from 'protobufjs';
import { MeshError } from '../core/errors.js';
import { meshType } from './schema.js';
import { BODY_TYPES, type BodyType, type Envelope, type EnvelopeBody, type EnvelopeInput } from './types.js';

/** Default cap on one encoded envelope: 256 KiB (mesh messages are small; media never goes here). */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;

export interface CodecOptions {
  /** Largest encoded envelope accepted. Default DEFAULT_MAX_MESSAGE_BYTES. */
  maxBytes?: number;
}

const envelopeType = meshType('Envelope');

const TO_OBJECT: protobuf.IConversionOptions = {
  longs: Number,
  enums: String,
  defaults: true,
  arrays: true,
  objects: true,
  oneofs: true,
};

export function encodeEnvelope(env: EnvelopeInput, opts: CodecOptions = {}): Uint8Array {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!BODY_TYPES.includes(env.body.type)) {
    throw new MeshError('BAD_REQUEST', `unknown envelope body type ${String(env.body.type)}`);
  }
  const plain: Record<string, unknown> = {
    requestId: env.requestId ?? '',
    kind: env.kind,
    sentAtMs: env.sentAtMs ?? Date.now(),
    replyTo: env.replyTo ?? '',
    [env.body.type]: env.body.value,
  };
  checkEnumNames(envelopeType, plain, 'Envelope');
  let bytes: Uint8Array;
  try {
    bytes = envelopeType.encode(envelopeType.fromObject(plain)).finish();
  } catch (e) {
    throw new MeshError('BAD_REQUEST', `cannot encode envelope: ${(e as Error).message}`, { cause: e });
  }
  if (bytes.length > maxBytes) {
    throw new MeshError('TOO_LARGE', `envelope of ${bytes.length} bytes exceeds ${maxBytes}`, {
      detail: { bytes: bytes.length, maxBytes },
    });
  }
  return bytes;
}

export function decodeEnvelope(bytes: Uint8Array, opts: CodecOptions = {}): Envelope {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (bytes.length > maxBytes) {
    throw new MeshError('TOO_LARGE', `envelope of ${bytes.length} bytes exceeds ${maxBytes}`, {
      detail: { bytes: bytes.length, maxBytes },
    });
  }
  let obj: Record<string, unknown>;
  try {
    obj = envelopeType.toObject(envelopeType.decode(bytes), TO_OBJECT);
  } catch (e) {
    throw new MeshError('BAD_REQUEST', `malformed envelope: ${(e as Error).message}`, { cause: e });
  }
  const type = obj['body'] as BodyType | undefined;
  if (type === undefined || !BODY_TYPES.includes(type)) {
    throw new MeshError('BAD_REQUEST', 'envelope has no body');
  }
  return {
    requestId: obj['requestId'] as string,
    kind: obj['kind'] as Envelope['kind'],
    sentAtMs: obj['sentAtMs'] as number,
    replyTo: obj['replyTo'] as string,
    body: { type, value: obj[type] } as EnvelopeBody,
  };
}

/**
 * protobufjs' fromObject silently maps an unknown enum name to 0; a typo in a
 * status would then travel as *_UNSPECIFIED. Refuse it instead, naming the field.
 */
function checkEnumNames(type: protobuf.Type, value: unknown, path: string): void {
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const v = obj[field.name];
    if (v === undefined || v === null) continue;
    const rt = field.resolvedType;
    const items = field.repeated && Array.isArray(v) ? v : field.map && typeof v === 'object' ? Object.values(v) : [v];
    for (const item of items) {
      if (rt instanceof protobuf.Enum) {
        if (typeof item === 'string' && rt.values[item] === undefined) {
          throw new MeshError('BAD_REQUEST', `${path}.${field.name}: unknown enum value ${item}`);
        }
      } else if (rt instanceof protobuf.Type) {
        checkEnumNames(rt, item, `${path}.${field.name}`);
      }
    }
  }
}
