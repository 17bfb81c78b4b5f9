/**
 * Signatures (docs/protocol.md §3.5).
 *
 * - Hybrid: Ed25519 (WebCrypto) AND ML-DSA-65 (FIPS 204, @noble/post-quantum) over the same
 *   domain-separated message. Both must verify. Used for long-lived bindings only:
 *   bundles, prekeys, handshake transcripts, relay checkpoints and directory entries.
 * - Ed25519 alone for short-lived authenticity (relay request auth and receipts).
 *
 * Encodings are ours and explicit: public key = ed25519_pk(32) || mldsa65_pk(1952);
 * signature = ed25519_sig(64) || mldsa65_sig(3309). The signed message is
 * `prefix || 0x00 || u8(len(context)) || context || message`, where the prefix names the
 * scheme, so a hybrid signature's Ed25519 half is never a valid Ed25519-only signature.
 */
import { ml_dsa65 } from "@noble/post-quantum/ml-dsa.js";
import { base64url, checkBytes, concat, fromHex, randomBytes, utf8, wipe } from "./bytes.js";
import { fail } from "./errors.js";

export const ED25519_PUBLIC_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;
export const MLDSA_PUBLIC_LENGTH = 1952;
export const MLDSA_SIGNATURE_LENGTH = 3309;
export const HYBRID_PUBLIC_LENGTH = ED25519_PUBLIC_LENGTH + MLDSA_PUBLIC_LENGTH; // 1984
export const HYBRID_SIGNATURE_LENGTH = ED25519_SIGNATURE_LENGTH + MLDSA_SIGNATURE_LENGTH; // 3373
export const HYBRID_SECRET_LENGTH = 64; // ed25519 seed || ml-dsa-65 seed
export const ED25519_SECRET_LENGTH = 32;

const HYBRID_PREFIX = utf8("SECURE-MSG v1 hybrid signature");
const ED25519_PREFIX = utf8("SECURE-MSG v1 ed25519 signature");
// PKCS#8 PrivateKeyInfo for id-Ed25519 (1.3.101.112) with a 32-byte seed.
const ED_PKCS8_PREFIX = fromHex("302e020100300506032b657004220420");

function formatted(prefix: Uint8Array, context: string, message: Uint8Array): Uint8Array {
  const ctx = utf8(context);
  if (ctx.length > 255) throw new RangeError("context too long");
  return concat(prefix, Uint8Array.of(0, ctx.length), ctx, message);
}

// --- Ed25519 ------------------------------------------------------------------------

async function edImport(seed: Uint8Array, extractable: boolean): Promise<CryptoKey> {
  checkBytes(seed, "secretKey", ED25519_SECRET_LENGTH);
  return crypto.subtle.importKey(
    "pkcs8",
    concat(ED_PKCS8_PREFIX, seed) as BufferSource,
    { name: "Ed25519" },
    extractable,
    ["sign"],
  );
}

async function edPublic(seed: Uint8Array): Promise<Uint8Array> {
  const jwk = await crypto.subtle.exportKey("jwk", await edImport(seed, true));
  return base64url.decode(jwk.x!);
}

async function edSign(seed: Uint8Array, m: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign({ name: "Ed25519" }, await edImport(seed, false), m as BufferSource),
  );
}

async function edVerify(pk: Uint8Array, sig: Uint8Array, m: Uint8Array): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey(
      "raw",
      pk as BufferSource,
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    return await crypto.subtle.verify(
      { name: "Ed25519" },
      key,
      sig as BufferSource,
      m as BufferSource,
    );
  } catch {
    return false; // malformed public key: not a valid signature
  }
}

/** An Ed25519 key pair for short-lived authenticity. */
export const ed25519 = {
  async generate(): Promise<{ secretKey: Uint8Array; publicKey: Uint8Array }> {
    const secretKey = randomBytes(ED25519_SECRET_LENGTH);
    return { secretKey, publicKey: await edPublic(secretKey) };
  },
  publicKey: edPublic,
  sign(secretKey: Uint8Array, context: string, message: Uint8Array): Promise<Uint8Array> {
    return edSign(secretKey, formatted(ED25519_PREFIX, context, message));
  },
  verify(
    publicKey: Uint8Array,
    context: string,
    message: Uint8Array,
    signature: Uint8Array,
  ): Promise<boolean> {
    if (publicKey.length !== ED25519_PUBLIC_LENGTH || signature.length !== ED25519_SIGNATURE_LENGTH)
      return Promise.resolve(false);
    return edVerify(publicKey, signature, formatted(ED25519_PREFIX, context, message));
  },
};

// --- hybrid ---------------------------------------------------------------------------

/**
 * A hybrid signing key. It holds the 64-byte seed and, once used, the expanded ML-DSA
 * key. It has no toJSON or toString that could reveal them.
 */
export class HybridSigner {
  #seed: Uint8Array;
  #mldsaSecret: Uint8Array | undefined;
  readonly publicKey: Uint8Array;

  private constructor(seed: Uint8Array, publicKey: Uint8Array, mldsaSecret: Uint8Array) {
    this.#seed = seed;
    this.publicKey = publicKey;
    this.#mldsaSecret = mldsaSecret;
  }

  static async fromSeed(seed: Uint8Array): Promise<HybridSigner> {
    checkBytes(seed, "seed", HYBRID_SECRET_LENGTH);
    const s = seed.slice();
    const { publicKey: mlPk, secretKey: mlSk } = ml_dsa65.keygen(s.subarray(32));
    return new HybridSigner(s, concat(await edPublic(s.subarray(0, 32)), mlPk), mlSk);
  }

  static generate(): Promise<HybridSigner> {
    return HybridSigner.fromSeed(randomBytes(HYBRID_SECRET_LENGTH));
  }

  /** The seed, for the encrypted keystore only. */
  exportSeed(): Uint8Array {
    return this.#seed.slice();
  }

  async sign(context: string, message: Uint8Array): Promise<Uint8Array> {
    if (!this.#mldsaSecret) fail("LOCKED", "signing key was wiped");
    const m = formatted(HYBRID_PREFIX, context, message);
    const ed = await edSign(this.#seed.subarray(0, 32), m);
    const ml = ml_dsa65.sign(m, this.#mldsaSecret);
    return concat(ed, ml);
  }

  /**
   * An Ed25519-only signature with the identity's Ed25519 half, for short-lived
   * authenticity (relay requests, §13.3). The scheme prefix keeps it apart from the
   * hybrid signature's Ed25519 half.
   */
  signEd25519(context: string, message: Uint8Array): Promise<Uint8Array> {
    if (!this.#mldsaSecret) fail("LOCKED", "signing key was wiped");
    return ed25519.sign(this.#seed.subarray(0, 32), context, message);
  }

  wipe(): void {
    wipe(this.#seed, this.#mldsaSecret);
    this.#mldsaSecret = undefined;
  }

  toJSON(): string {
    return "[HybridSigner]";
  }
}

/** Verifies a hybrid signature: true only when both halves verify. */
export async function verifyHybrid(
  publicKey: Uint8Array,
  context: string,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  if (publicKey.length !== HYBRID_PUBLIC_LENGTH || signature.length !== HYBRID_SIGNATURE_LENGTH)
    return false;
  const m = formatted(HYBRID_PREFIX, context, message);
  const edOk = await edVerify(
    publicKey.subarray(0, ED25519_PUBLIC_LENGTH),
    signature.subarray(0, ED25519_SIGNATURE_LENGTH),
    m,
  );
  let mlOk = false;
  try {
    mlOk = ml_dsa65.verify(
      signature.subarray(ED25519_SIGNATURE_LENGTH),
      m,
      publicKey.subarray(ED25519_PUBLIC_LENGTH),
    );
  } catch {
    mlOk = false;
  }
  return edOk && mlOk;
}
