/**
 * Hashes and key derivation (docs/protocol.md §3): HKDF-SHA256 (RFC 5869), SHA-256 and
 * SHA3-256 from @noble/hashes. Every derivation names its purpose with a label from
 * `Label`, so no two uses of a secret can collide.
 *
 * A platform with native SHA-256 and HMAC (Node's node:crypto) may install them with
 * `useSyncHashes`, as it may install AES-GCM (aead.ts): the ratchet's chain steps and the
 * relay's Merkle hashing are then several times faster. HKDF is built here on whichever
 * HMAC is installed, so the same bytes come out (tests/protocol/kdf.test.ts checks both
 * against each other).
 */
import { expand, hkdf as nobleHkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { utf8 } from "./bytes.js";

/** Every domain-separation label of suite v1, in one place (docs/protocol.md §3.2). */
export const Label = {
  fingerprint: "secure-msg/v1/fingerprint",
  relayFingerprint: "secure-msg/v1/relay-fingerprint",
  safetyNumber: "secure-msg/v1/safety-number",
  handshakeTranscript: "secure-msg/v1/handshake/transcript",
  handshakeKeys: "secure-msg/v1/handshake/keys",
  handshakeSignature: "handshake",
  bundleSignature: "bundle",
  sessionId: "secure-msg/v1/session-id",
  sessionAd: "secure-msg/v1/session-ad",
  rootStep: "secure-msg/v1/ratchet/root",
  chainPqStep: "secure-msg/v1/ratchet/chain-pq",
  messageKey: "secure-msg/v1/ratchet/message-key",
  messageId: "secure-msg/v1/message-id",
  recordAad: "secure-msg/v1/record/",
  recordId: "secure-msg/v1/record-id",
  dekWrap: "secure-msg/v1/keystore/dek",
  backupKey: "secure-msg/v1/backup/key",
  backupCheck: "secure-msg/v1/backup/check",
  backupAad: "secure-msg/v1/backup",
} as const;

/** Native SHA-256 and HMAC-SHA256 over the concatenation of `parts`. */
export interface SyncHashes {
  sha256(parts: Uint8Array[]): Uint8Array;
  hmacSha256(key: Uint8Array, parts: Uint8Array[]): Uint8Array;
}

let native: SyncHashes | undefined;

/** Installs (or, with undefined, removes) the platform's SHA-256 and HMAC-SHA256. */
export function useSyncHashes(impl: SyncHashes | undefined): void {
  native = impl;
}

export function sha256(...parts: Uint8Array[]): Uint8Array {
  if (native) return native.sha256(parts);
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SHA-256 over a label and the given parts (labelled hash). */
export function labelledHash(label: string, ...parts: Uint8Array[]): Uint8Array {
  return sha256(utf8(label), ...parts);
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Uint8Array {
  if (!native) return nobleHkdf(nobleSha256, ikm, salt, utf8(info), length);
  return nativeHkdf(native, salt.length > 0 ? salt : ZEROS, ikm, utf8(info), length);
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  if (native) return native.hmacSha256(key, [data]);
  return hmac(nobleSha256, key, data);
}

/**
 * HMAC(key, 0x01) and HMAC(key, 0x02), sharing the keyed state: the ratchet's KDF_CK
 * (§6.3.1), two HMAC computations for the cost of one key schedule.
 */
export function hmacPair(key: Uint8Array): [Uint8Array, Uint8Array] {
  if (native) return [native.hmacSha256(key, [ONE]), native.hmacSha256(key, [TWO])];
  const h = hmac.create(nobleSha256, key);
  const one = h.clone().update(ONE).digest();
  return [one, h.update(TWO).digest()];
}
const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
/** HKDF's salt when none is given: HashLen zero bytes (RFC 5869 §2.2). */
const ZEROS = new Uint8Array(32);

/**
 * HKDF-SHA256(ikm, salt = "", info, length), the same function as `hkdf` with an empty
 * salt (RFC 5869 §2.2: HashLen zero bytes, which HMAC pads exactly as the empty key),
 * with the salt's keyed HMAC state computed once. `info` is the label's UTF-8 bytes.
 */
export function hkdfNoSalt(ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (native) return nativeHkdf(native, ZEROS, ikm, info, length);
  const prk = ZERO_SALT.clone().update(ikm).digest();
  const out = expand(nobleSha256, prk, info, length);
  prk.fill(0);
  return out;
}
const ZERO_SALT = hmac.create(nobleSha256, new Uint8Array(32));

/** RFC 5869 extract and expand on the installed HMAC. */
function nativeHkdf(
  h: SyncHashes,
  salt: Uint8Array,
  ikm: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  if (!(Number.isInteger(length) && length >= 0 && length <= 255 * 32))
    throw new RangeError("HKDF length out of range");
  const prk = h.hmacSha256(salt, [ikm]);
  const out = new Uint8Array(length);
  let t: Uint8Array = new Uint8Array(0);
  for (let i = 1, done = 0; done < length; i++) {
    const next = h.hmacSha256(prk, [t, info, Uint8Array.of(i)]);
    t.fill(0);
    t = next;
    out.set(t.subarray(0, Math.min(32, length - done)), done);
    done += 32;
  }
  t.fill(0);
  prk.fill(0);
  return out;
}
