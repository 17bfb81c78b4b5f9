/**
 * X-Wing: the hybrid KEM of ML-KEM-768 and X25519 (draft-connolly-cfrg-xwing-kem, the
 * final construction with the label last in the combiner). docs/protocol.md §3.4.
 *
 * ML-KEM-768 comes from `mlkem` (deterministic KeyGen_internal and Encaps from seeds),
 * X25519 from WebCrypto, and SHAKE256 / SHA3-256 from @noble/hashes. The decapsulation
 * key is the 32-byte seed; the expanded keys are derived on use and wiped.
 */
import { sha3_256, shake256 } from "@noble/hashes/sha3.js";
import { MlKem768 } from "mlkem";
import { checkBytes, concat, randomBytes, wipe } from "./bytes.js";
import { fail } from "./errors.js";
import * as x25519 from "./x25519.js";

export const SECRET_KEY_LENGTH = 32;
export const PUBLIC_KEY_LENGTH = 1216; // ML-KEM-768 ek (1184) || X25519 pk (32)
export const CIPHERTEXT_LENGTH = 1120; // ML-KEM-768 ct (1088) || X25519 ct (32)
export const SHARED_SECRET_LENGTH = 32;
const ML_KEM_PK = 1184;
const ML_KEM_CT = 1088;

// XWingLabel = "\.//^\" (draft §5.3): 5c 2e 2f 2f 5e 5c.
const LABEL = Uint8Array.of(0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c);

interface Expanded {
  skM: Uint8Array;
  skX: Uint8Array;
  pkM: Uint8Array;
  pkX: Uint8Array;
}

async function expand(seed: Uint8Array): Promise<Expanded> {
  checkBytes(seed, "secretKey", SECRET_KEY_LENGTH);
  const expanded = shake256(seed, { dkLen: 96 });
  // KeyGen_internal(d = expanded[0:32], z = expanded[32:64]); mlkem takes d || z.
  const [pkM, skM] = await new MlKem768().deriveKeyPair(expanded.subarray(0, 64));
  const skX = expanded.slice(64, 96);
  wipe(expanded);
  return { skM, skX, pkM, pkX: await x25519.publicKey(skX) };
}

function combine(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  return sha3_256(concat(ssM, ssX, ctX, pkX, LABEL));
}

/** Derives the key pair for a 32-byte seed (GenerateKeyPairDerand). */
export async function keyPairFromSeed(
  seed: Uint8Array,
): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }> {
  const e = await expand(seed);
  wipe(e.skM, e.skX);
  return { secretKey: seed.slice(), publicKey: concat(e.pkM, e.pkX) };
}

export function generateKeyPair(): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }> {
  return keyPairFromSeed(randomBytes(SECRET_KEY_LENGTH));
}

/**
 * Encapsulates to `publicKey`. `eseed` (64 bytes) makes it deterministic for test
 * vectors; leave it out in real use.
 */
export async function encapsulate(
  publicKey: Uint8Array,
  eseed: Uint8Array = randomBytes(64),
): Promise<{ sharedSecret: Uint8Array; ciphertext: Uint8Array }> {
  checkBytes(publicKey, "publicKey", PUBLIC_KEY_LENGTH);
  checkBytes(eseed, "eseed", 64);
  const pkM = publicKey.subarray(0, ML_KEM_PK);
  const pkX = publicKey.subarray(ML_KEM_PK);
  const ekX = eseed.slice(32, 64);
  const ctX = await x25519.publicKey(ekX);
  const ssX = await x25519.dh(ekX, pkX);
  let ctM: Uint8Array;
  let ssM: Uint8Array;
  try {
    [ctM, ssM] = await new MlKem768().encap(pkM, eseed.subarray(0, 32));
  } catch (e) {
    // FIPS 203 §7.2 encapsulation key check.
    return fail("BAD_ENCODING", "invalid X-Wing public key", e);
  }
  const sharedSecret = combine(ssM, ssX, ctX, pkX);
  wipe(ekX, ssX, ssM);
  return { sharedSecret, ciphertext: concat(ctM, ctX) };
}

/**
 * Decapsulates. ML-KEM rejects implicitly (a wrong ciphertext gives an unrelated
 * secret), so a changed ciphertext shows up later as an AEAD failure; only a low-order
 * X25519 share fails here, as TAMPERED.
 */
export async function decapsulate(
  secretKey: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Uint8Array> {
  checkBytes(ciphertext, "ciphertext", CIPHERTEXT_LENGTH);
  const e = await expand(secretKey);
  try {
    const ctM = ciphertext.subarray(0, ML_KEM_CT);
    const ctX = ciphertext.subarray(ML_KEM_CT);
    const ssM = await new MlKem768().decap(ctM, e.skM);
    const ssX = await x25519.dh(e.skX, ctX);
    const ss = combine(ssM, ssX, ctX, e.pkX);
    wipe(ssM, ssX);
    return ss;
  } finally {
    wipe(e.skM, e.skX);
  }
}
