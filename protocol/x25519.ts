/**
 * X25519 (RFC 7748) through WebCrypto, so the same code runs in Node and in a service
 * worker. Secret keys are 32 raw bytes (the RFC 7748 §5 scalar, before clamping).
 *
 * WebCrypto cannot import a raw X25519 secret: it takes PKCS#8, and parsing that costs
 * several times the DH itself. So:
 *
 * - `generateKeyPair` makes the key inside WebCrypto (one ahead of need, see `spare`),
 *   exports the secret once (for the caller to store), and keeps the CryptoKey in a small
 *   cache, keyed by the public key, for the ratchet's later DH with that key
 *   (`ratchetDh`). The cache holds at most `CACHE_SIZE` keys, each with a copy of its
 *   secret that every use is checked against (constant time); `forget` drops one as soon
 *   as the ratchet is done with it, and `clearCache` drops all (Client.lock). Nothing
 *   secret becomes a string.
 * - `ephemeral` (X-Wing encapsulation) never leaves WebCrypto with its secret.
 * - `importSecret` imports a raw secret once for several uses (X-Wing decapsulation).
 *
 * A platform with a synchronous X25519 of its own (Node's node:crypto) may install it
 * with `useSyncX25519`, as it may install AES-GCM (aead.ts) and the hashes (kdf.ts):
 * every operation then goes through its key handles, kept in the same cache, with no
 * WebCrypto round trip. The same bytes and the same TAMPERED errors come out
 * (tests/protocol/x25519.test.ts checks both against each other).
 */
import { checkBytes, concat, equal, fromHex, toHex, wipe } from "./bytes.js";
import { fail } from "./errors.js";

export const KEY_LENGTH = 32;
/** Most generated key pairs kept imported: about one per active session. */
export const CACHE_SIZE = 64;

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * A synchronous X25519 whose private keys are opaque handles, as WebCrypto's CryptoKeys
 * are: made by `generate` (the secret exported once) or `importSecret`.
 */
export interface SyncX25519 {
  /** A fresh key pair, and its handle. */
  generate(): { handle: unknown; keyPair: KeyPair };
  importSecret(sk: Uint8Array): unknown;
  /** X25519(handle, pk); throws if `pk` is not a public key or the result is all zero. */
  dh(handle: unknown, pk: Uint8Array): Uint8Array;
}

let native: SyncX25519 | undefined;

/** Installs (or, with undefined, removes) the platform's synchronous X25519. */
export function useSyncX25519(impl: SyncX25519 | undefined): void {
  if (impl !== native) clearCache(); // handles of one backend mean nothing to the other
  native = impl;
}

/** X25519 through the installed implementation's handle, its failures as TAMPERED. */
function nativeDh(n: SyncX25519, handle: unknown, pk: Uint8Array): Uint8Array {
  checkBytes(pk, "publicKey", KEY_LENGTH);
  try {
    return n.dh(handle, pk);
  } catch (e) {
    return fail("TAMPERED", "X25519 produced no shared secret", e);
  }
}

// PKCS#8 PrivateKeyInfo for id-X25519 (1.3.101.110) with a 32-byte CurvePrivateKey.
const PKCS8_PREFIX = fromHex("302e020100300506032b656e04220420");
const BASE_POINT = Uint8Array.of(9, ...new Array<number>(31).fill(0));
const ALG = { name: "X25519" } as const;

/** A secret imported into WebCrypto, for one or more operations. */
export interface SecretKey {
  dh(pk: Uint8Array): Promise<Uint8Array>;
  publicKey(): Promise<Uint8Array>;
}

function wrap(key: CryptoKey): SecretKey {
  return { dh: (pk) => derive(key, pk), publicKey: () => derive(key, BASE_POINT) };
}

export async function importSecret(sk: Uint8Array): Promise<SecretKey> {
  checkBytes(sk, "secretKey", KEY_LENGTH);
  const n = native;
  if (n) {
    const handle = n.importSecret(sk);
    return {
      dh: async (pk) => nativeDh(n, handle, pk),
      publicKey: async () => nativeDh(n, handle, BASE_POINT),
    };
  }
  const der = concat(PKCS8_PREFIX, sk);
  try {
    return wrap(
      await crypto.subtle.importKey("pkcs8", der as BufferSource, ALG, false, ["deriveBits"]),
    );
  } finally {
    wipe(der);
  }
}

/** X25519(key, pk). A low-order `pk` (all-zero output) is a TAMPERED error. */
async function derive(key: CryptoKey, pk: Uint8Array): Promise<Uint8Array> {
  checkBytes(pk, "publicKey", KEY_LENGTH);
  let pub: CryptoKey;
  try {
    pub = await crypto.subtle.importKey("raw", pk as BufferSource, ALG, true, []);
  } catch (e) {
    return fail("TAMPERED", "invalid X25519 public key", e);
  }
  try {
    return new Uint8Array(
      await crypto.subtle.deriveBits({ name: "X25519", public: pub }, key, 256),
    );
  } catch (e) {
    // WebCrypto refuses an all-zero shared secret (low-order point).
    return fail("TAMPERED", "X25519 produced no shared secret", e);
  }
}

/** X25519(sk, pk) for a secret used once. A low-order `pk` is a TAMPERED error. */
export async function dh(sk: Uint8Array, pk: Uint8Array): Promise<Uint8Array> {
  checkBytes(pk, "publicKey", KEY_LENGTH);
  return (await importSecret(sk)).dh(pk);
}

export async function publicKey(sk: Uint8Array): Promise<Uint8Array> {
  return (await importSecret(sk)).publicKey();
}

// --- generated keys, and the cache of their CryptoKeys -----------------------------------

interface Cached {
  /** A CryptoKey, or the handle of `backend`. */
  key: unknown;
  /** The SyncX25519 that made `key`, or undefined for WebCrypto. */
  backend: SyncX25519 | undefined;
  secret: Uint8Array;
}
/** Bumped by clearCache: a key made before it is not cached after it. */
let epoch = 0;
/** Insertion order is use order: the first entry is the least recently used. */
const cache = new Map<string, Cached>();

function drop(id: string): void {
  const c = cache.get(id);
  if (!c) return;
  wipe(c.secret);
  cache.delete(id);
}

export async function generateKeyPair(): Promise<KeyPair> {
  return (await generate()).keyPair;
}

/** A fresh key pair (as `generateKeyPair`) and its DH with `pk`: a ratchet send step. */
export async function generateWithDh(
  pk: Uint8Array,
): Promise<{ keyPair: KeyPair; shared: Uint8Array }> {
  checkBytes(pk, "publicKey", KEY_LENGTH);
  const { keyPair, shared } = await generate(pk);
  return { keyPair, shared: shared! };
}

interface Made {
  key: unknown;
  keyPair: KeyPair;
}

async function make(): Promise<Made> {
  const kp = (await crypto.subtle.generateKey(ALG, true, ["deriveBits"])) as CryptoKeyPair;
  const [pub, der] = await Promise.all([
    crypto.subtle.exportKey("raw", kp.publicKey).then((b) => new Uint8Array(b)),
    crypto.subtle.exportKey("pkcs8", kp.privateKey).then((b) => new Uint8Array(b)),
  ]);
  try {
    return { key: kp.privateKey, keyPair: { secretKey: secretFromPkcs8(der), publicKey: pub } };
  } finally {
    wipe(der);
  }
}

/**
 * The CurvePrivateKey of an exported X25519 PKCS#8 (RFC 8410 §7): Node and Chromium
 * export exactly PKCS8_PREFIX || secret; a OneAsymmetricKey (version 1) may append the
 * public key, which is ignored.
 */
function secretFromPkcs8(der: Uint8Array): Uint8Array {
  const head = der.slice(0, PKCS8_PREFIX.length);
  const v1 = head[4] === 1 && der.length > 48;
  head[1] = PKCS8_PREFIX[1]!;
  if (v1) head[4] = 0;
  if (der.length < 48 || der[1] !== der.length - 2 || !equal(head, PKCS8_PREFIX))
    throw new Error("unexpected PKCS#8 encoding of an X25519 key");
  if (!v1 && der.length !== 48) throw new Error("unexpected PKCS#8 encoding of an X25519 key");
  return der.slice(PKCS8_PREFIX.length, PKCS8_PREFIX.length + KEY_LENGTH);
}

/**
 * One key pair made ahead of need, so that a ratchet step waits only for its DH and not
 * for WebCrypto's generation and exports: made again after each use, dropped (and its
 * secret wiped) by `clearCache`. It is used for nothing before it is taken.
 */
let spare: Promise<Made> | undefined;

function take(): Promise<Made> {
  const next = spare ?? make();
  const s = make();
  s.catch(() => {
    if (spare === s) spare = undefined;
  });
  spare = s;
  return next;
}

async function generate(pk?: Uint8Array): Promise<{ keyPair: KeyPair; shared?: Uint8Array }> {
  // The DH comes first: a key pair whose DH fails (a low-order `pk`) is never cached.
  const n = native;
  if (n) {
    const { handle, keyPair } = n.generate();
    const shared = pk ? nativeDh(n, handle, pk) : undefined;
    keep({ key: handle, keyPair }, n, epoch);
    return { keyPair, shared };
  }
  const since = epoch;
  const made = await take();
  const shared = pk ? await derive(made.key as CryptoKey, pk) : undefined;
  keep(made, undefined, since);
  return { keyPair: made.keyPair, shared };
}

/**
 * Caches the handle of a key pair handed out for use, unless the cache was cleared (a
 * lock) or the backend changed since the key was asked for: its handle would outlive
 * them, or mean nothing to the backend now installed.
 */
function keep({ key, keyPair }: Made, backend: SyncX25519 | undefined, since: number): void {
  if (since !== epoch || backend !== native) return;
  const id = toHex(keyPair.publicKey);
  drop(id);
  cache.set(id, { key, backend, secret: keyPair.secretKey.slice() });
  while (cache.size > CACHE_SIZE) drop(cache.keys().next().value!);
}

/**
 * X25519(keyPair.secretKey, pk), through the cached CryptoKey when `keyPair` came from
 * `generateKeyPair` in this process and is still cached, else through `dh`.
 */
export async function ratchetDh(keyPair: KeyPair, pk: Uint8Array): Promise<Uint8Array> {
  checkBytes(keyPair.secretKey, "secretKey", KEY_LENGTH);
  checkBytes(keyPair.publicKey, "publicKey", KEY_LENGTH);
  const id = toHex(keyPair.publicKey);
  const c = cache.get(id);
  if (!c || c.backend !== native || !equal(c.secret, keyPair.secretKey))
    return dh(keyPair.secretKey, pk);
  cache.delete(id);
  cache.set(id, c);
  return c.backend ? nativeDh(c.backend, c.key, pk) : derive(c.key as CryptoKey, pk);
}

/** Drops the cached CryptoKey of a generated key pair that is no longer needed. */
export function forget(publicKey: Uint8Array): void {
  drop(toHex(publicKey));
}

/** Drops every cached CryptoKey and the spare key pair (on lock). */
export function clearCache(): void {
  epoch++;
  for (const id of [...cache.keys()]) drop(id);
  spare?.then(
    (m) => wipe(m.keyPair.secretKey),
    () => undefined,
  );
  spare = undefined;
}

/**
 * A fresh key pair that never leaves WebCrypto, used once: returns its public key and
 * X25519(secret, pk). For X-Wing encapsulation (§3.4).
 */
export async function ephemeral(
  pk: Uint8Array,
): Promise<{ publicKey: Uint8Array; shared: Uint8Array }> {
  checkBytes(pk, "publicKey", KEY_LENGTH);
  if (native) {
    const { handle, keyPair } = native.generate();
    wipe(keyPair.secretKey);
    return { publicKey: keyPair.publicKey, shared: nativeDh(native, handle, pk) };
  }
  const kp = (await crypto.subtle.generateKey(ALG, false, ["deriveBits"])) as CryptoKeyPair;
  const [publicKey, shared] = await Promise.all([
    crypto.subtle.exportKey("raw", kp.publicKey).then((b) => new Uint8Array(b)),
    derive(kp.privateKey, pk),
  ]);
  return { publicKey, shared };
}
