/**
 * AES-256-GCM (docs/protocol.md §3.3), through WebCrypto: raw keys are imported
 * non-extractable for each operation. A failed open is always `TAMPERED`: GCM cannot
 * tell a wrong key from changed bytes, and callers decide which one it means.
 *
 * Every WebCrypto call is an asynchronous job on another thread, and for the small,
 * single-use keys of messages those round trips cost more than the cipher. A platform
 * with a synchronous AES-256-GCM of its own (Node's node:crypto) may install it with
 * `useSyncAead`; the same bytes come out (tests/protocol/aead.test.ts checks both
 * against each other). Keys held as CryptoKeys (the keystore's DEK) always stay in
 * WebCrypto.
 */
import { checkBytes } from "./bytes.js";
import { fail } from "./errors.js";

export const KEY_LENGTH = 32;
export const NONCE_LENGTH = 12;
export const TAG_LENGTH = 16;

async function importKey(key: Uint8Array, usage: "encrypt" | "decrypt"): Promise<CryptoKey> {
  checkBytes(key, "key", KEY_LENGTH);
  return crypto.subtle.importKey("raw", key as BufferSource, "AES-GCM", false, [usage]);
}

/** A synchronous AES-256-GCM with 16-byte tags appended to the ciphertext. */
export interface SyncAead {
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
  /** Throws if the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array): Uint8Array;
}

let sync: SyncAead | undefined;

/** Installs (or, with undefined, removes) the platform's synchronous AES-256-GCM. */
export function useSyncAead(impl: SyncAead | undefined): void {
  sync = impl;
}

/** Accepts raw key bytes or a non-extractable CryptoKey held by the caller. */
type Key = Uint8Array | CryptoKey;

export async function seal(
  key: Key,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  checkBytes(nonce, "nonce", NONCE_LENGTH);
  if (sync && key instanceof Uint8Array) {
    checkBytes(key, "key", KEY_LENGTH);
    return sync.seal(key, nonce, plaintext, aad);
  }
  const k = key instanceof Uint8Array ? await importKey(key, "encrypt") : key;
  const ct = await crypto.subtle.encrypt(
    {
      name: "AES-GCM",
      iv: nonce as BufferSource,
      additionalData: aad as BufferSource,
      tagLength: 128,
    },
    k,
    plaintext as BufferSource,
  );
  return new Uint8Array(ct);
}

export async function open(
  key: Key,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  aad: Uint8Array,
  what = "message",
): Promise<Uint8Array> {
  checkBytes(nonce, "nonce", NONCE_LENGTH);
  if (ciphertext.length < TAG_LENGTH) fail("BAD_ENCODING", `${what}: ciphertext too short`);
  if (sync && key instanceof Uint8Array) {
    checkBytes(key, "key", KEY_LENGTH);
    try {
      return sync.open(key, nonce, ciphertext, aad);
    } catch (e) {
      return fail("TAMPERED", `${what}: authentication failed`, e);
    }
  }
  const k = key instanceof Uint8Array ? await importKey(key, "decrypt") : key;
  try {
    const pt = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: nonce as BufferSource,
        additionalData: aad as BufferSource,
        tagLength: 128,
      },
      k,
      ciphertext as BufferSource,
    );
    return new Uint8Array(pt);
  } catch (e) {
    return fail("TAMPERED", `${what}: authentication failed`, e);
  }
}

/** Imports a long-lived key (the keystore DEK) once, non-extractable. */
export async function importAeadKey(key: Uint8Array): Promise<CryptoKey> {
  checkBytes(key, "key", KEY_LENGTH);
  return crypto.subtle.importKey("raw", key as BufferSource, "AES-GCM", false, [
    "encrypt",
    "decrypt",
  ]);
}
