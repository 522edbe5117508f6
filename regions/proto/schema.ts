/**
 * Loads mesh.proto once, at import time, with protobufjs.
 *
 * `tsc` does not copy .proto files into dist/, so the file is looked up in two
 * places: next to this module (running from source with tsx) and at the same
 * path under the project root (running compiled code from dist/regions/proto/).
 * One schema file stays the single source of truth; nothing is generated.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { MeshError } from '../core/errors.js';

const CANDIDATES = [
  new URL('./mesh.proto', import.meta.url),
  // dist/regions/proto/schema.js -> <root>/regions/proto/mesh.proto
  new URL('../../../regions/proto/mesh.proto', import.meta.url),
];

/** Absolute path of the mesh.proto in use. */
export function findMeshProto(): string {
  for (const url of CANDIDATES) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new MeshError('CONFIG_INVALID', `mesh.proto not found (looked in ${CANDIDATES.map((u) => fileURLToPath(u)).join(', ')})`);
}

let cached: protobuf.Root | undefined;

/** The parsed schema root (field names camelCased, as the TS types use them). */
export function meshRoot(): protobuf.Root {
  if (cached === undefined) {
    const text = readFileSync(findMeshProto(), 'utf8');
    cached = protobuf.parse(text, { keepCase: false }).root;
    cached.resolveAll();
  }
  return cached;
}

export function meshType(name: string): protobuf.Type {
  return meshRoot().lookupType(`mesh.v1.${name}`);
}
