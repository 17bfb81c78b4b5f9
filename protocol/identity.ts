/**
 * Identity: names, addresses, fingerprints and safety numbers (docs/protocol.md §4).
 * An identity is a hybrid signing key (sign.ts); its public half is what contacts pin.
 */
import { concat, toHex, utf8 } from "./bytes.js";
import { fail } from "./errors.js";
import { hkdf, Label, labelledHash } from "./kdf.js";
import { HYBRID_PUBLIC_LENGTH } from "./sign.js";

export const FINGERPRINT_LENGTH = 32;

/** A user name: 1-32 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit. */
export const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;

export function checkName(name: unknown): string {
  if (typeof name !== "string" || !NAME_PATTERN.test(name))
    fail(
      "INVALID_ARGUMENT",
      "a name is 1-32 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
    );
  return name;
}

/** fingerprint = SHA-256("secure-msg/v1/fingerprint" || identity public key). */
export function fingerprint(identityKey: Uint8Array): Uint8Array {
  if (identityKey.length !== HYBRID_PUBLIC_LENGTH)
    fail("INVALID_ARGUMENT", "identity key has the wrong length");
  return labelledHash(Label.fingerprint, identityKey);
}

/** 64 hex digits in groups of four, for reading aloud or comparing by eye. */
export function formatFingerprint(fp: Uint8Array): string {
  return toHex(fp).match(/.{4}/g)!.join(" ");
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * The safety number of two identities: the same for both sides, because the
 * fingerprints are sorted before hashing. 60 digits in 12 groups of five; each group is
 * a 40-bit big-endian integer mod 100000 (docs/protocol.md §4.3).
 */
export function safetyNumber(fpA: Uint8Array, fpB: Uint8Array): string {
  const [lo, hi] = compare(fpA, fpB) <= 0 ? [fpA, fpB] : [fpB, fpA];
  const bytes = hkdf(concat(lo, hi), new Uint8Array(0), Label.safetyNumber, 60);
  const groups: string[] = [];
  for (let g = 0; g < 12; g++) {
    let v = 0;
    for (let i = 0; i < 5; i++) v = v * 256 + bytes[g * 5 + i]!;
    groups.push(String(v % 100000).padStart(5, "0"));
  }
  return groups.join(" ");
}

/**
 * The address of a user: `name` alone for a contact known without a relay, or
 * `name@host[:port]` for one registered at a relay (the relay URL's host).
 */
export function addressOf(name: string, relay: string): string {
  if (relay === "") return name;
  let url: URL;
  try {
    url = new URL(relay);
  } catch (e) {
    return fail("BAD_ENCODING", "relay is not a URL", e);
  }
  return `${name}@${url.host}`;
}

export function checkRelayUrl(relay: unknown): string {
  if (relay === "") return "";
  if (typeof relay !== "string" || utf8(relay).length > 255)
    fail("INVALID_ARGUMENT", "relay URL is too long");
  let url: URL;
  try {
    url = new URL(relay);
  } catch (e) {
    return fail("INVALID_ARGUMENT", "relay is not a valid URL", e);
  }
  if (
    (url.protocol !== "https:" && url.protocol !== "http:") ||
    url.username ||
    url.password ||
    url.search ||
    url.hash
  )
    fail(
      "INVALID_ARGUMENT",
      "relay URL must be http(s)://host[:port][/path] without credentials or query",
    );
  const canonical = canonicalRelay(url);
  if (utf8(canonical).length > 255) fail("INVALID_ARGUMENT", "relay URL is too long");
  return canonical;
}

/** The one text form of a relay URL: scheme://host[:port][/path], no trailing slash. */
function canonicalRelay(url: URL): string {
  const path = url.pathname === "/" ? "" : url.pathname.replace(/\/+$/, "");
  return `${url.protocol}//${url.host}${path}`;
}

/** For decoders: a relay URL on the wire must already be in canonical form. */
export function isCanonicalRelay(relay: string): boolean {
  try {
    return checkRelayUrl(relay) === relay;
  } catch {
    return false;
  }
}
