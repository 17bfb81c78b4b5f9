/**
 * X25519 from node:crypto for the protocol (protocol/x25519.ts `useSyncX25519`):
 * synchronous, with private keys as KeyObject handles that the protocol keeps in its
 * cache, so a ratchet key made here is never imported again. Installed with the AES-GCM
 * and the hashes by ./node-crypto.ts.
 *
 * A secret crosses only as bytes, never as a string: it is exported once from a new key
 * as PKCS#8 (whose DER is wiped), and imported the same way. Public keys go through JWK,
 * which costs a fraction of SubjectPublicKeyInfo parsing. The results are checked
 * against WebCrypto's in tests/protocol/x25519.test.ts.
 */
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import type { SyncX25519 } from "../protocol/x25519.js";

// PKCS#8 PrivateKeyInfo for id-X25519 (1.3.101.110) with a 32-byte CurvePrivateKey.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const KEY = 32;

function secretOf(key: KeyObject): Uint8Array {
  const der = key.export({ format: "der", type: "pkcs8" });
  try {
    if (der.length !== PKCS8_PREFIX.length + KEY || !der.subarray(0, 16).equals(PKCS8_PREFIX))
      throw new Error("unexpected PKCS#8 encoding of an X25519 key");
    return new Uint8Array(der.subarray(PKCS8_PREFIX.length));
  } finally {
    der.fill(0);
  }
}

export const nodeX25519: SyncX25519 = {
  generate() {
    const { privateKey, publicKey } = generateKeyPairSync("x25519");
    const { x } = publicKey.export({ format: "jwk" }) as { x: string };
    return {
      handle: privateKey,
      keyPair: {
        secretKey: secretOf(privateKey),
        publicKey: new Uint8Array(Buffer.from(x, "base64url")),
      },
    };
  },
  importSecret(sk) {
    const der = Buffer.concat([PKCS8_PREFIX, sk]);
    try {
      return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
    } finally {
      der.fill(0);
    }
  },
  dh(handle, pk) {
    const x = Buffer.from(pk.buffer, pk.byteOffset, pk.byteLength).toString("base64url");
    const publicKey = createPublicKey({ key: { kty: "OKP", crv: "X25519", x }, format: "jwk" });
    // A view of node's buffer, not a copy: no second copy of the secret to wipe.
    const out = diffieHellman({ privateKey: handle as KeyObject, publicKey });
    const shared = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    // A low-order public key gives all zeros (OpenSSL refuses it too; this does not rely
    // on it). Every byte is read, so the time does not depend on the secret.
    let any = 0;
    for (const b of shared) any |= b;
    if (any === 0) throw new Error("X25519 produced no shared secret");
    return shared;
  },
};
