/**
 * Hashes and key derivation (docs/protocol.md §3): HKDF-SHA256 (RFC 5869), SHA-256 and
 * SHA3-256 from @noble/hashes. Every derivation names its purpose with a label from
 * `Label`, so no two uses of a secret can collide.
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

export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = nobleSha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

/** SHA-256 over a label and the given parts (labelled hash). */
export function labelledHash(label: string, ...parts: Uint8Array[]): Uint8Array {
  return sha256(utf8(label), ...parts);
}

export function hkdf(ikm: Uint8Array, salt: Uint8Array, info: string, length: number): Uint8Array {
  return nobleHkdf(nobleSha256, ikm, salt, utf8(info), length);
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(nobleSha256, key, data);
}

/**
 * HMAC(key, 0x01) and HMAC(key, 0x02), sharing the keyed state: the ratchet's KDF_CK
 * (§6.3.1), two HMAC computations for the cost of one key schedule.
 */
export function hmacPair(key: Uint8Array): [Uint8Array, Uint8Array] {
  const h = hmac.create(nobleSha256, key);
  const one = h.clone().update(ONE).digest();
  return [one, h.update(TWO).digest()];
}
const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);

/**
 * HKDF-SHA256(ikm, salt = "", info, length), the same function as `hkdf` with an empty
 * salt (RFC 5869 §2.2: HashLen zero bytes, which HMAC pads exactly as the empty key),
 * with the salt's keyed HMAC state computed once. `info` is the label's UTF-8 bytes.
 */
export function hkdfNoSalt(ikm: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const prk = ZERO_SALT.clone().update(ikm).digest();
  const out = expand(nobleSha256, prk, info, length);
  prk.fill(0);
  return out;
}
const ZERO_SALT = hmac.create(nobleSha256, new Uint8Array(32));
