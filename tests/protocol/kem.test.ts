import { readFileSync } from "node:fs";
import { ml_kem768_x25519 } from "@noble/post-quantum/hybrid.js";
import { afterEach, describe, expect, it } from "vitest";
import { nodeX25519 } from "../../cli/x25519.js";
import { fromHex, randomBytes, toHex } from "../../protocol/bytes.js";
import { ProtocolError } from "../../protocol/errors.js";
import * as kem from "../../protocol/kem.js";
import { useSyncX25519 } from "../../protocol/x25519.js";

describe("X-Wing", () => {
  afterEach(() => useSyncX25519(undefined));

  it("reproduces the draft's published test vector (final label order), with either X25519", async () => {
    for (const impl of [undefined, nodeX25519]) {
      useSyncX25519(impl);
      await checkDraftVector();
    }
  });

  async function checkDraftVector() {
    const doc = JSON.parse(
      readFileSync(new URL("../vectors/external/xwing-draft.json", import.meta.url), "utf8"),
    );
    for (const v of doc.vectors) {
      expect(toHex((await kem.keyPairFromSeed(fromHex(v.sk))).publicKey)).toBe(v.pk);
      const enc = await kem.encapsulate(fromHex(v.pk), fromHex(v.eseed));
      expect(toHex(enc.ciphertext)).toBe(v.ct);
      expect(toHex(enc.sharedSecret)).toBe(v.ss);
      expect(toHex(await kem.decapsulate(fromHex(v.sk), fromHex(v.ct)))).toBe(v.ss);
    }
  }

  it("matches @noble/post-quantum's ml_kem768_x25519 byte for byte", async () => {
    for (let i = 0; i < 5; i++) {
      const seed = randomBytes(32);
      const eseed = randomBytes(64);
      const ours = await kem.keyPairFromSeed(seed);
      const oracle = ml_kem768_x25519.keygen(seed);
      expect(ours.publicKey).toEqual(oracle.publicKey);
      const enc = await kem.encapsulate(ours.publicKey, eseed);
      const oEnc = ml_kem768_x25519.encapsulate(oracle.publicKey, eseed);
      expect(enc.ciphertext).toEqual(oEnc.cipherText);
      expect(enc.sharedSecret).toEqual(oEnc.sharedSecret);
      expect(await kem.decapsulate(seed, enc.ciphertext)).toEqual(enc.sharedSecret);
      expect(ml_kem768_x25519.decapsulate(enc.ciphertext, oracle.secretKey)).toEqual(
        enc.sharedSecret,
      );
    }
  });

  it("gives an unrelated secret for a changed ML-KEM ciphertext (implicit rejection)", async () => {
    const { secretKey, publicKey } = await kem.generateKeyPair();
    const { ciphertext, sharedSecret } = await kem.encapsulate(publicKey);
    ciphertext[10]! ^= 1;
    expect(await kem.decapsulate(secretKey, ciphertext)).not.toEqual(sharedSecret);
  });

  it("rejects a low-order X25519 share as TAMPERED", async () => {
    const { secretKey, publicKey } = await kem.generateKeyPair();
    const { ciphertext } = await kem.encapsulate(publicKey);
    ciphertext.fill(0, 1088);
    await expect(kem.decapsulate(secretKey, ciphertext)).rejects.toSatisfy((e) =>
      ProtocolError.is(e, "TAMPERED"),
    );
  });

  it("rejects wrong lengths as INVALID_ARGUMENT", async () => {
    await expect(kem.encapsulate(new Uint8Array(10))).rejects.toSatisfy((e) =>
      ProtocolError.is(e, "INVALID_ARGUMENT"),
    );
  });
});
