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
  /** The X25519 secret, imported once for both of its uses in a decapsulation. */
  skX: x25519.SecretKey;
  pkM: Uint8Array;
  pkX: Uint8Array;
}

/**
 * mlkem's methods run synchronously after a one-time setup and zero their scratch
 * buffers before they return, so one instance serves every call, concurrent ones too.
 */
const mlkem = new MlKem768();

async function expand(seed: Uint8Array): Promise<Expanded> {
  checkBytes(seed, "secretKey", SECRET_KEY_LENGTH);
  const expanded = shake256(seed, { dkLen: 96 });
  const skX = await x25519.importSecret(expanded.subarray(64, 96));
  // KeyGen_internal(d = expanded[0:32], z = expanded[32:64]); mlkem takes d || z. It runs
  // while WebCrypto computes pk_X.
  const [[pkM, skM], pkX] = await Promise.all([
    mlkem.deriveKeyPair(expanded.subarray(0, 64)),
    skX.publicKey(),
  ]);
  wipe(expanded);
  return { skM, skX, pkM, pkX };
}

function combine(ssM: Uint8Array, ssX: Uint8Array, ctX: Uint8Array, pkX: Uint8Array): Uint8Array {
  return sha3_256(concat(ssM, ssX, ctX, pkX, LABEL));
}

/** Derives the key pair for a 32-byte seed (GenerateKeyPairDerand). */
export async function keyPairFromSeed(
  seed: Uint8Array,
): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }> {
  const e = await expand(seed);
  wipe(e.skM);
  return { secretKey: seed.slice(), publicKey: concat(e.pkM, e.pkX) };
}

export function generateKeyPair(): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }> {
  return keyPairFromSeed(randomBytes(SECRET_KEY_LENGTH));
}

/**
 * Encapsulates to `publicKey`. `eseed` (64 bytes) makes it deterministic for test
 * vectors; leave it out in real use. Without it, the ephemeral X25519 key (eseed[32:64]
 * in the draft) is generated inside WebCrypto and never leaves it: the same distribution,
 * without the cost of importing a raw secret.
 */
export async function encapsulate(
  publicKey: Uint8Array,
  eseed?: Uint8Array,
): Promise<{ sharedSecret: Uint8Array; ciphertext: Uint8Array }> {
  checkBytes(publicKey, "publicKey", PUBLIC_KEY_LENGTH);
  if (eseed !== undefined) checkBytes(eseed, "eseed", 64);
  const pkM = publicKey.subarray(0, ML_KEM_PK);
  const pkX = publicKey.subarray(ML_KEM_PK);
  const m = eseed ? eseed.slice(0, 32) : randomBytes(32);
  // The X25519 half runs in WebCrypto while ML-KEM runs here.
  const x = eseed
    ? x25519.importSecret(eseed.subarray(32, 64)).then(async (ekX) => ({
        publicKey: await ekX.publicKey(),
        shared: await ekX.dh(pkX),
      }))
    : x25519.ephemeral(pkX);
  let ctM: Uint8Array;
  let ssM: Uint8Array;
  try {
    [ctM, ssM] = await mlkem.encap(pkM, m);
  } catch (e) {
    // A low-order X25519 half (TAMPERED) is reported first, then the FIPS 203 §7.2
    // encapsulation key check.
    await x;
    return fail("BAD_ENCODING", "invalid X-Wing public key", e);
  }
  const { publicKey: ctX, shared: ssX } = await x;
  const sharedSecret = combine(ssM, ssX, ctX, pkX);
  wipe(m, ssX, ssM);
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
    const [ssM, ssX] = await Promise.all([mlkem.decap(ctM, e.skM), e.skX.dh(ctX)]);
    const ss = combine(ssM, ssX, ctX, e.pkX);
    wipe(ssM, ssX);
    return ss;
  } finally {
    wipe(e.skM);
  }
}
