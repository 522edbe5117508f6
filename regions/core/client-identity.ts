/**
 * The name of a browser or app client (`client:<identity>`, issue 13): what
 * an access token's `grants.identity` binds, what `<Dial><Client>` and the
 * Calls API's `To=client:…` ring. One format for all of them, the dialect's:
 * at most 256 characters, none of them control, space, delimiter or unwise
 * characters (RFC 2396 §2.4.3: `< > # % "` and `{ } | \ ^ [ ] \``), so an
 * identity can sit in a header parameter once percent-encoded and never
 * breaks a SIP message.
 */
export const MAX_CLIENT_IDENTITY_CHARS = 256;

/** The identity's characters and length as a regular-expression fragment (no anchors), for schemas that compose it. */
export const CLIENT_IDENTITY_PATTERN = "[A-Za-z0-9!$&'()*+,\\-./:;=?@_~]{1,256}";

const IDENTITY = new RegExp(`^${CLIENT_IDENTITY_PATTERN}$`);

/** Whether `s` is a valid client identity (without the `client:` scheme). */
export function isClientIdentity(s: string): boolean {
  return IDENTITY.test(s);
}

/** The identity of a `client:<identity>` address, or undefined when `address` is not one (or the identity is malformed). */
export function clientIdentityOf(address: string): string | undefined {
  if (!address.startsWith('client:')) return undefined;
  const id = address.slice('client:'.length);
  return isClientIdentity(id) ? id : undefined;
}
