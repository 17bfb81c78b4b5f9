/**
 * X25519 (RFC 7748) through WebCrypto. Secret keys are 32 raw bytes; they are imported
 * as PKCS#8 for each use, so the same code runs in Node and in a service worker.
 */
import { checkBytes, concat, fromHex, randomBytes } from "./bytes.js";
import { fail } from "./errors.js";

export const KEY_LENGTH = 32;

// PKCS#8 PrivateKeyInfo for id-X25519 (1.3.101.110) with a 32-byte CurvePrivateKey.
const PKCS8_PREFIX = fromHex("302e020100300506032b656e04220420");
const BASE_POINT = Uint8Array.of(9, ...new Array<number>(31).fill(0));

function importSecret(sk: Uint8Array): Promise<CryptoKey> {
  checkBytes(sk, "secretKey", KEY_LENGTH);
  return crypto.subtle.importKey(
    "pkcs8",
    concat(PKCS8_PREFIX, sk) as BufferSource,
    { name: "X25519" },
    false,
    ["deriveBits"],
  );
}

/** X25519(sk, pk). A low-order `pk` (all-zero output) is a TAMPERED error. */
export async function dh(sk: Uint8Array, pk: Uint8Array): Promise<Uint8Array> {
  checkBytes(pk, "publicKey", KEY_LENGTH);
  const priv = await importSecret(sk);
  let pub: CryptoKey;
  try {
    pub = await crypto.subtle.importKey("raw", pk as BufferSource, { name: "X25519" }, true, []);
  } catch (e) {
    return fail("TAMPERED", "invalid X25519 public key", e);
  }
  try {
    const bits = await crypto.subtle.deriveBits({ name: "X25519", public: pub }, priv, 256);
    return new Uint8Array(bits);
  } catch (e) {
    // WebCrypto refuses an all-zero shared secret (low-order point).
    return fail("TAMPERED", "X25519 produced no shared secret", e);
  }
}

export function publicKey(sk: Uint8Array): Promise<Uint8Array> {
  return dh(sk, BASE_POINT);
}

export async function generateKeyPair(): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }> {
  const secretKey = randomBytes(KEY_LENGTH);
  return { secretKey, publicKey: await publicKey(secretKey) };
}
