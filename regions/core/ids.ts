/**
 * Branded identifiers: a `CallId` cannot be passed where a `Tag` is expected,
 * even though both are strings on the wire.
 */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type RegionId = Brand<string, 'RegionId'>;
export type NodeId = Brand<string, 'NodeId'>;
export type CallSid = Brand<string, 'CallSid'>;
/** SIP Call-ID header value (RFC 3261 §8.1.1.4). */
export type CallId = Brand<string, 'CallId'>;
/** SIP From/To tag (RFC 3261 §19.3). */
export type Tag = Brand<string, 'Tag'>;
/** Via branch parameter; transaction id (RFC 3261 §8.1.1.7). */
export type Branch = Brand<string, 'Branch'>;

export const asRegionId = (s: string): RegionId => s as RegionId;
export const asNodeId = (s: string): NodeId => s as NodeId;
export const asCallSid = (s: string): CallSid => s as CallSid;
export const asCallId = (s: string): CallId => s as CallId;
export const asTag = (s: string): Tag => s as Tag;
export const asBranch = (s: string): Branch => s as Branch;

/**
 * Whether `s` names a member of Object.prototype (`constructor`, `__proto__`,
 * `toString`, …). Such a name used as an id would find that member in any
 * plain-object table it is looked up in; the lookups use own keys, and ids
 * from configuration and discovery refuse these names as well.
 */
export function isPrototypeMemberName(s: string): boolean {
  return s in Object.prototype;
}

