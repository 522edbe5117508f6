/** Narrowing a reply body to the message type the caller expects. */
import { MeshError } from '../core/errors.js';
import type { BodyType, BodyTypes, EnvelopeBody } from '../proto/types.js';

/** The value of `body` if it is a `type`, else MeshError('BAD_GATEWAY') (the peer answered something else). */
export function expectBody<K extends BodyType>(body: EnvelopeBody, type: K): BodyTypes[K] {
  if (body.type !== type) throw new MeshError('BAD_GATEWAY', `region link peer replied ${body.type}, expected ${type}`);
  return body.value as BodyTypes[K];
}
