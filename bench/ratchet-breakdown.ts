/**
 * Where a session message's time goes (for the sessions goals): each step of
 * ratchet.encrypt/decrypt on its own, in µs per call, with the protocol's own functions
 * (AES-GCM from node:crypto as the CLI runs it, and WebCrypto's as the extension does).
 */
import { nodeAead } from "../cli/aead.js";
import * as aead from "../protocol/aead.js";
import { fromHex } from "../protocol/bytes.js";
import { decodeEnvelope } from "../protocol/envelope.js";
import { hkdf, hmacSha256, Label } from "../protocol/kdf.js";
import * as kem from "../protocol/kem.js";
import * as x25519 from "../protocol/x25519.js";
import { seal, session } from "./parties.js";
import { type Row, single } from "./report.js";
import { msPerCall } from "./stats.js";

const PKCS8_X25519 = fromHex("302e020100300506032b656e04220420");

/** Runs one call of `f` with WebCrypto's AES-GCM, as the extension does (bench/main.ts installs node:crypto's). */
function webCrypto<T>(f: () => Promise<T>): Promise<T> {
  aead.useSyncAead(undefined);
  try {
    return f(); // the backend is chosen synchronously, when the call starts
  } finally {
    aead.useSyncAead(nodeAead);
  }
}

export async function ratchetBreakdown(quick: boolean): Promise<Row[]> {
  const n = quick ? 5 : 300;
  const s = await session();
  const key = new Uint8Array(32);
  const nonce = new Uint8Array(12);
  const pt = new Uint8Array(1025);
  const ad = new Uint8Array(100);
  const ct = await aead.seal(key, nonce, pt, ad);
  const imported = await aead.importAeadKey(key);
  const env = await seal(s.a, "x".repeat(1024));
  const kp = await x25519.generateKeyPair();
  const pkcs8 = new Uint8Array([...PKCS8_X25519, ...kp.secretKey]);
  const priv = await crypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, false, [
    "deriveBits",
  ]);
  const pub = await crypto.subtle.importKey(
    "raw",
    kp.publicKey as BufferSource,
    { name: "X25519" },
    true,
    [],
  );
  const pq = await kem.generateKeyPair();
  const { ciphertext } = await kem.encapsulate(pq.publicKey);
  const steps: [string, () => unknown][] = [
    [
      "AES-256-GCM seal 1 KiB (aead.seal; node:crypto, as the CLI)",
      () => aead.seal(key, nonce, pt, ad),
    ],
    [
      "AES-256-GCM open 1 KiB (aead.open; node:crypto, as the CLI)",
      () => aead.open(key, nonce, ct, ad),
    ],
    [
      "– WebCrypto, as the extension: seal 1 KiB, raw key imported each call",
      () => webCrypto(() => aead.seal(key, nonce, pt, ad)),
    ],
    [
      "– WebCrypto, as the extension: open 1 KiB, raw key imported each call",
      () => webCrypto(() => aead.open(key, nonce, ct, ad)),
    ],
    [
      "– WebCrypto: seal 1 KiB with the key already imported",
      () => aead.seal(imported, nonce, pt, ad),
    ],
    [
      "2 HMAC-SHA256 + HKDF of 44 bytes (a chain step and its message key; node:crypto HMAC, as the CLI)",
      () => {
        hmacSha256(key, Uint8Array.of(1));
        hmacSha256(key, Uint8Array.of(2));
        hkdf(key, new Uint8Array(0), Label.messageKey, 44);
      },
    ],
    ["envelope decode (decodeEnvelope)", () => decodeEnvelope(env)],
    [
      "X25519 ratchet send step: new key pair + DH (x25519.generateWithDh)",
      () => x25519.generateWithDh(kp.publicKey),
    ],
    [
      "X25519 DH from a raw secret not in the handle cache (x25519.dh)",
      () => x25519.dh(kp.secretKey, kp.publicKey),
    ],
    [
      "– WebCrypto: PKCS#8 import of an X25519 secret",
      () => crypto.subtle.importKey("pkcs8", pkcs8, { name: "X25519" }, false, ["deriveBits"]),
    ],
    [
      "– WebCrypto: deriveBits with both keys imported",
      () => crypto.subtle.deriveBits({ name: "X25519", public: pub }, priv, 256),
    ],
    [
      "– WebCrypto: generateKey X25519 + raw export of the public key",
      async () => {
        const k = (await crypto.subtle.generateKey({ name: "X25519" }, true, [
          "deriveBits",
        ])) as CryptoKeyPair;
        await crypto.subtle.exportKey("raw", k.publicKey);
      },
    ],
    [
      "X-Wing step: keygen + encapsulate + decapsulate (every 50 messages per direction)",
      async () => {
        await kem.generateKeyPair();
        await kem.encapsulate(pq.publicKey);
        await kem.decapsulate(pq.secretKey, ciphertext);
      },
    ],
  ];
  const rows: Row[] = [];
  for (const [name, f] of steps) {
    const ms = await msPerCall(f, name.startsWith("X-Wing") ? Math.ceil(n / 10) : n);
    rows.push({ measure: `breakdown: ${name}`, unit: "µs", ours: single(ms * 1000) });
  }
  return rows;
}
