/**
 * Ed25519 on the relay's hot paths through node:crypto (docs/protocol.md §3.5): receipts
 * are signed for every batch of deposits and a request signature checked for every inbox
 * call.
 * protocol/sign.ts must import the key into WebCrypto on every call (it runs in browsers
 * too), which costs more than the signature; here keys are imported once, and node:crypto
 * signs and verifies synchronously. The signed bytes are exactly those of protocol/sign.ts
 * (tests check the two against each other).
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from "node:crypto";
import { concat, fromHex, utf8, wipe } from "../protocol/bytes.js";
import { ED25519_PUBLIC_LENGTH, ED25519_SIGNATURE_LENGTH } from "../protocol/sign.js";

/** PKCS#8 PrivateKeyInfo for id-Ed25519 with a 32-byte seed (as protocol/sign.ts imports it). */
const PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");
/** SubjectPublicKeyInfo for id-Ed25519. */
const SPKI_PREFIX = fromHex("302a300506032b6570032100");
const PREFIX = utf8("SECURE-MSG v1 ed25519 signature");
/** Public keys kept imported: one per user who signs requests, bounded. */
const MAX_KEYS = 10_000;

const prefixes = new Map<string, Uint8Array>();
/** `prefix || 0x00 || u8(len(context)) || context` (§3.5), per context. */
function contextPrefix(context: string): Uint8Array {
  let p = prefixes.get(context);
  if (!p) {
    const ctx = utf8(context);
    if (ctx.length > 255) throw new RangeError("context too long");
    p = concat(PREFIX, Uint8Array.of(0, ctx.length), ctx);
    prefixes.set(context, p);
  }
  return p;
}

export function privateKey(seed: Uint8Array): KeyObject {
  const der = concat(PKCS8_PREFIX, seed);
  try {
    return createPrivateKey({
      key: Buffer.from(der.buffer, der.byteOffset, der.length),
      format: "der",
      type: "pkcs8",
    });
  } finally {
    wipe(der);
  }
}

export function edSign(key: KeyObject, context: string, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, concat(contextPrefix(context), message), key));
}

const publicKeys = new Map<string, KeyObject>();

/** As `ed25519.verify` of protocol/sign.ts: false, never a throw, for a malformed key. */
export function edVerify(
  publicKey: Uint8Array,
  context: string,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (publicKey.length !== ED25519_PUBLIC_LENGTH || signature.length !== ED25519_SIGNATURE_LENGTH)
    return false;
  const id = Buffer.from(publicKey).toString("hex");
  try {
    let key = publicKeys.get(id);
    if (!key) {
      key = createPublicKey({
        key: Buffer.from(concat(SPKI_PREFIX, publicKey)),
        format: "der",
        type: "spki",
      });
      if (publicKeys.size >= MAX_KEYS) publicKeys.clear();
      publicKeys.set(id, key);
    }
    return verify(null, concat(contextPrefix(context), message), key, signature);
  } catch {
    return false; // malformed public key: not a valid signature
  }
}
