import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ml_kem768_x25519 } from "@noble/post-quantum/hybrid.js";
import { describe, expect, it } from "vitest";
import { dearmor } from "../../protocol/armor.js";
import { restoreBackup } from "../../protocol/backup.js";
import { decodeBundle, verifyBundle } from "../../protocol/bundle.js";
import { fromHex, toHex } from "../../protocol/bytes.js";
import { Client } from "../../protocol/client.js";
import { decodeEnvelope, decodeText } from "../../protocol/envelope.js";
import { ErrorCode, fail, ProtocolError } from "../../protocol/errors.js";
import * as handshake from "../../protocol/handshake.js";
import { fingerprint } from "../../protocol/identity.js";
import * as kem from "../../protocol/kem.js";
import { Keystore } from "../../protocol/keystore.js";
import * as ratchet from "../../protocol/ratchet.js";
import { decodeReceipt, verifyReceipt } from "../../protocol/receipt.js";
import { Records } from "../../protocol/records.js";
import { HybridSigner } from "../../protocol/sign.js";
import { MemoryStorage } from "../../protocol/storage.js";

const DIR = new URL("../vectors/v1/", import.meta.url);
const load = (name: string) => JSON.parse(readFileSync(new URL(name, DIR), "utf8")).vectors;

const OUTCOME: Record<string, string> = {
  [ErrorCode.NOT_FOR_ME]: "not for me",
  [ErrorCode.NO_SESSION]: "not for me",
  [ErrorCode.TAMPERED]: "tampered",
  [ErrorCode.BAD_SIGNATURE]: "bad signature",
  [ErrorCode.REPLAY]: "replay",
  [ErrorCode.OUT_OF_ORDER]: "out of order",
  [ErrorCode.EXPIRED]: "expired",
  [ErrorCode.BAD_ENCODING]: "bad encoding",
  [ErrorCode.UNSUPPORTED_VERSION]: "unsupported version",
  [ErrorCode.BAD_ARMOR]: "bad armor",
  [ErrorCode.WRONG_PASSWORD]: "wrong password",
  [ErrorCode.CORRUPT_STORE]: "corrupt store",
};

/** Runs f and names its outcome; anything but a ProtocolError is a test failure. */
async function outcome<T>(f: () => Promise<T>): Promise<{ outcome: string; value?: T }> {
  try {
    return { outcome: "success", value: await f() };
  } catch (e) {
    if (!ProtocolError.is(e)) throw e;
    return { outcome: OUTCOME[e.code] ?? e.code };
  }
}

describe("test vectors v1", () => {
  it("X-Wing", async () => {
    for (const v of load("xwing.json")) {
      const seed = fromHex(v.seed);
      expect(toHex((await kem.keyPairFromSeed(seed)).publicKey)).toBe(v.publicKey);
      const enc = await kem.encapsulate(fromHex(v.publicKey), fromHex(v.eseed));
      expect(toHex(enc.ciphertext)).toBe(v.ciphertext);
      expect(toHex(enc.sharedSecret)).toBe(v.sharedSecret);
      expect(toHex(await kem.decapsulate(seed, fromHex(v.ciphertext)))).toBe(v.sharedSecret);
      // The oracle agrees on every byte.
      const o = ml_kem768_x25519.encapsulate(fromHex(v.publicKey), fromHex(v.eseed));
      expect(toHex(o.cipherText)).toBe(v.ciphertext);
      expect(toHex(o.sharedSecret)).toBe(v.sharedSecret);
    }
  });

  it("bundles", async () => {
    for (const v of load("bundle.json")) {
      const r = await outcome(async () => {
        const b = decodeBundle(fromHex(v.bundle));
        await verifyBundle(b, v.now);
        return b;
      });
      expect(r.outcome, v.comment).toBe(v.expect);
      if (v.expect === "success") {
        expect(r.value!.name).toBe(v.name);
        expect(toHex(fingerprint(r.value!.identityKey))).toBe(v.fingerprint);
      }
    }
  });

  it("a conversation, step by step", async () => {
    for (const v of load("conversation.json")) {
      const me = await HybridSigner.fromSeed(fromHex(v.recipient.identitySeed));
      const seed = fromHex(v.recipient.prekeySeed);
      const prekey = {
        id: v.recipient.prekeyId,
        seed,
        publicKey: (await kem.keyPairFromSeed(seed)).publicKey,
      };
      let state: ratchet.RatchetState | undefined;
      const seen = new Set<string>();
      for (const step of v.steps) {
        const r = await outcome(async () => {
          const env = decodeEnvelope(fromHex(step.envelope));
          if (env.type === "prekey") {
            if (env.prekeyId !== prekey.id) throw new ProtocolError("NOT_FOR_ME", "other prekey");
            const acc = await handshake.accept(me.publicKey, prekey, env, v.now);
            if (seen.has(toHex(acc.handshakeId))) throw new ProtocolError("REPLAY", "seen");
            seen.add(toHex(acc.handshakeId));
            state = acc.state;
            return { from: acc.sender.name, text: decodeText(acc.payload) };
          }
          if (!state) throw new ProtocolError("NO_SESSION", "no session");
          const d = await ratchet.decrypt(state, env, v.now);
          state = d.state;
          return { from: undefined, text: decodeText(d.payload) };
        });
        expect(r.outcome, step.comment ?? step.expect).toBe(step.expect);
        if (step.expect === "success") {
          expect(r.value!.text).toBe(step.text);
          if (step.from) expect(r.value!.from).toBe(step.from);
        }
      }
    }
  });

  it("armor", async () => {
    for (const v of load("armor.json")) {
      const r = await outcome(async () => dearmor(v.text, v.kind));
      expect(r.outcome, v.comment).toBe(v.expect);
      if (v.expect === "success") expect(toHex(r.value!.data)).toBe(v.data);
    }
  });

  it("keystore", async () => {
    for (const v of load("keystore.json")) {
      const store = new MemoryStorage();
      await store.write([{ key: "keystore", value: fromHex(v.header) }]);
      const r = await outcome(async () => {
        const ks = await Keystore.unlock(store, v.password);
        return ks.open(v.key, fromHex(v.record));
      });
      expect(r.outcome, v.comment).toBe(v.expect);
      if (v.expect === "success") expect(r.value).toEqual(v.value);
    }
  });

  it("account backups", async () => {
    for (const v of load("backup.json")) {
      const store = new MemoryStorage();
      const kdf = { m: 8, t: 1, p: 1 };
      const r = await outcome(() => restoreBackup(store, fromHex(v.backup), v.password, { kdf }));
      expect(r.outcome, v.comment).toBe(v.expect);
      if (v.expect !== "success") {
        expect(store.data.size, v.comment).toBe(0);
        continue;
      }
      const c = await Client.resume(store, r.value!.dek, { kdf, now: () => 1_767_225_600_000 });
      expect({ name: c.name, address: c.address, fingerprint: c.fingerprint }).toEqual(v.account);
      expect(
        (await c.contacts()).map((x) => ({ address: x.address, verified: x.verified })),
      ).toEqual(v.contacts);
      const history = await c.history();
      expect(history.map((m) => ({ direction: m.direction, peer: m.peer, text: m.text }))).toEqual(
        v.messages,
      );
      const sessions = await (
        await Records.open(await Keystore.unlock(store, v.password))
      ).sessions();
      expect(sessions.length).toBe(v.sessions);
      expect(sessions.every((x) => x.retired === true)).toBe(true);
    }
  });

  it("relay receipts", async () => {
    for (const v of load("receipt.json")) {
      const r = await outcome(async () => {
        decodeReceipt(fromHex(v.receipt));
        if (!(await verifyReceipt(fromHex(v.publicKey), fromHex(v.body), fromHex(v.receipt))))
          fail("BAD_SIGNATURE", "the relay's receipt does not verify");
      });
      expect(r.outcome, v.comment).toBe(v.expect);
    }
  });

  it("are what the generator makes today", () => {
    const out = mkdtempSync(join(tmpdir(), "vectors-"));
    try {
      execFileSync(process.execPath, ["--import", "tsx", "scripts/vectors.ts"], {
        env: { ...process.env, VECTORS_OUT: out },
        stdio: "pipe",
      });
      const committed = readdirSync(DIR).filter((f) => f.endsWith(".json"));
      expect(readdirSync(out).sort()).toEqual(committed.sort());
      for (const f of committed) {
        expect(readFileSync(join(out, f), "utf8"), f).toBe(readFileSync(new URL(f, DIR), "utf8"));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
