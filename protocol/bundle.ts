/**
 * The key bundle (docs/protocol.md §5): what a user publishes so that others can start a
 * session. It binds a name and relay to an identity key and a current X-Wing prekey, and
 * is signed by that identity with the hybrid signature (context "bundle").
 */
import { fromUtf8, Reader, utf8, Writer } from "./bytes.js";
import { fail } from "./errors.js";
import { isCanonicalRelay, NAME_PATTERN } from "./identity.js";
import { Label } from "./kdf.js";
import * as kem from "./kem.js";
import {
  HYBRID_PUBLIC_LENGTH,
  HYBRID_SIGNATURE_LENGTH,
  type HybridSigner,
  verifyHybrid,
} from "./sign.js";
import { checkVersion, TYPE_BUNDLE, VERSION } from "./version.js";

export interface UnsignedBundle {
  name: string;
  relay: string;
  identityKey: Uint8Array;
  prekeyId: number;
  prekey: Uint8Array;
  /** Milliseconds since the Unix epoch after which senders MUST NOT use the prekey. */
  prekeyExpires: number;
  created: number;
}

export interface Bundle extends UnsignedBundle {
  signature: Uint8Array;
}

function encodeUnsigned(b: UnsignedBundle): Uint8Array {
  return new Writer()
    .u8(VERSION)
    .u8(TYPE_BUNDLE)
    .bytes16(utf8(b.name))
    .bytes16(utf8(b.relay))
    .raw(b.identityKey, HYBRID_PUBLIC_LENGTH)
    .u32(b.prekeyId)
    .raw(b.prekey, kem.PUBLIC_KEY_LENGTH)
    .u64(b.prekeyExpires)
    .u64(b.created)
    .finish();
}

export function encodeBundle(b: Bundle): Uint8Array {
  return new Writer().raw(encodeUnsigned(b)).raw(b.signature, HYBRID_SIGNATURE_LENGTH).finish();
}

/** Decodes the structure strictly. It does not verify: call verifyBundle before use. */
export function decodeBundle(bytes: Uint8Array): Bundle {
  const r = new Reader(bytes, "bundle");
  checkVersion(r.u8());
  if (r.u8() !== TYPE_BUNDLE) fail("BAD_ENCODING", "bundle: wrong object type");
  const name = fromUtf8(r.bytes16(32));
  const relay = fromUtf8(r.bytes16(255));
  if (!NAME_PATTERN.test(name) || !isCanonicalRelay(relay))
    fail("BAD_ENCODING", "bundle: invalid name or relay URL");
  const b: Bundle = {
    name,
    relay,
    identityKey: r.raw(HYBRID_PUBLIC_LENGTH),
    prekeyId: r.u32(),
    prekey: r.raw(kem.PUBLIC_KEY_LENGTH),
    prekeyExpires: r.u64(),
    created: r.u64(),
    signature: r.raw(HYBRID_SIGNATURE_LENGTH),
  };
  r.end();
  return b;
}

export async function signBundle(signer: HybridSigner, b: UnsignedBundle): Promise<Bundle> {
  return { ...b, signature: await signer.sign(Label.bundleSignature, encodeUnsigned(b)) };
}

/** How far a bundle's creation time may be ahead of our clock (clock skew). */
export const MAX_CLOCK_SKEW_MS = 24 * 60 * 60 * 1000;
/** The longest prekey lifetime a bundle may claim. */
export const MAX_PREKEY_LIFETIME_MS = 60 * 24 * 60 * 60 * 1000;

/** Whether the bundle's own identity key signed it; its times are not checked (§14.3). */
export async function bundleSigned(b: Bundle): Promise<boolean> {
  return verifyHybrid(b.identityKey, Label.bundleSignature, encodeUnsigned(b), b.signature);
}

/**
 * BAD_SIGNATURE unless the identity signed it; BAD_ENCODING for implausible times;
 * EXPIRED if its prekey is past expiry (§5).
 */
export async function verifyBundle(b: Bundle, now: number): Promise<void> {
  if (!(await bundleSigned(b))) fail("BAD_SIGNATURE", "bundle signature does not verify");
  if (
    b.created > now + MAX_CLOCK_SKEW_MS ||
    b.prekeyExpires <= b.created ||
    b.prekeyExpires - b.created > MAX_PREKEY_LIFETIME_MS
  )
    fail("BAD_ENCODING", "bundle has implausible creation or expiry times");
  if (now > b.prekeyExpires)
    fail("EXPIRED", "the bundle's prekey has expired: ask for a fresh bundle");
}
