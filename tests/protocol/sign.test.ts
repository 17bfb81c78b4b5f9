import { ml_dsa65 } from "@noble/post-quantum/ml-dsa.js";
import { describe, expect, it } from "vitest";
import { concat, utf8 } from "../../protocol/bytes.js";
import {
  ED25519_SIGNATURE_LENGTH,
  ed25519,
  HYBRID_PUBLIC_LENGTH,
  HYBRID_SIGNATURE_LENGTH,
  HybridSigner,
  verifyHybrid,
} from "../../protocol/sign.js";

const msg = utf8("bind this name to this key");

describe("hybrid signatures", () => {
  it("sign and verify, with the documented sizes", async () => {
    const s = await HybridSigner.generate();
    const sig = await s.sign("bundle", msg);
    expect(s.publicKey).toHaveLength(HYBRID_PUBLIC_LENGTH);
    expect(sig).toHaveLength(HYBRID_SIGNATURE_LENGTH);
    expect(await verifyHybrid(s.publicKey, "bundle", msg, sig)).toBe(true);
  });

  it("derive the same key from the same seed", async () => {
    const a = await HybridSigner.generate();
    const b = await HybridSigner.fromSeed(a.exportSeed());
    expect(b.publicKey).toEqual(a.publicKey);
  });

  it("need both halves: a valid Ed25519 half with a broken ML-DSA half fails, and the reverse", async () => {
    const s = await HybridSigner.generate();
    const sig = await s.sign("bundle", msg);
    const badMl = sig.slice();
    badMl[ED25519_SIGNATURE_LENGTH + 100]! ^= 1;
    const badEd = sig.slice();
    badEd[10]! ^= 1;
    expect(await verifyHybrid(s.publicKey, "bundle", msg, badMl)).toBe(false);
    expect(await verifyHybrid(s.publicKey, "bundle", msg, badEd)).toBe(false);
  });

  it("do not verify under another key, context or message", async () => {
    const s = await HybridSigner.generate();
    const other = await HybridSigner.generate();
    const sig = await s.sign("bundle", msg);
    expect(await verifyHybrid(other.publicKey, "bundle", msg, sig)).toBe(false);
    expect(await verifyHybrid(s.publicKey, "handshake", msg, sig)).toBe(false);
    expect(await verifyHybrid(s.publicKey, "bundle", utf8("another message"), sig)).toBe(false);
    // A mixed key (our Ed25519 half, another ML-DSA half) fails.
    const mixed = concat(s.publicKey.subarray(0, 32), other.publicKey.subarray(32));
    expect(await verifyHybrid(mixed, "bundle", msg, sig)).toBe(false);
  });

  it("are domain-separated: the Ed25519 half is not an Ed25519-only signature", async () => {
    const s = await HybridSigner.generate();
    const sig = await s.sign("request", msg);
    const edHalf = sig.subarray(0, ED25519_SIGNATURE_LENGTH);
    expect(await ed25519.verify(s.publicKey.subarray(0, 32), "request", msg, edHalf)).toBe(false);
  });

  it("use ML-DSA-65 as FIPS 204 defines it (checked with noble directly)", async () => {
    const seed = new Uint8Array(64).fill(7);
    const s = await HybridSigner.fromSeed(seed);
    expect(s.publicKey.subarray(32)).toEqual(ml_dsa65.keygen(seed.subarray(32)).publicKey);
  });

  it("reject malformed keys and signatures without throwing", async () => {
    const s = await HybridSigner.generate();
    const sig = await s.sign("bundle", msg);
    expect(await verifyHybrid(new Uint8Array(10), "bundle", msg, sig)).toBe(false);
    expect(await verifyHybrid(s.publicKey, "bundle", msg, sig.subarray(1))).toBe(false);
    expect(await verifyHybrid(new Uint8Array(HYBRID_PUBLIC_LENGTH), "bundle", msg, sig)).toBe(
      false,
    );
  });

  it("never reveal the seed through JSON", async () => {
    const s = await HybridSigner.generate();
    expect(JSON.stringify({ s })).toBe('{"s":"[HybridSigner]"}');
  });
});

describe("Ed25519", () => {
  it("signs and verifies with its own prefix", async () => {
    const k = await ed25519.generate();
    const sig = await ed25519.sign(k.secretKey, "receipt", msg);
    expect(await ed25519.verify(k.publicKey, "receipt", msg, sig)).toBe(true);
    expect(await ed25519.verify(k.publicKey, "request", msg, sig)).toBe(false);
  });
});
