import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { armor } from "../../protocol/armor.js";
import {
  BACKUP_HEADER_LENGTH,
  type BackupPayload,
  decodeBackup,
  openBackup,
  restoreBackup,
  sealBackup,
} from "../../protocol/backup.js";
import { equal, toHex, utf8 } from "../../protocol/bytes.js";
import { Client } from "../../protocol/client.js";
import { ErrorCode, ProtocolError } from "../../protocol/errors.js";
import { Keystore } from "../../protocol/keystore.js";
import { Records } from "../../protocol/records.js";
import { MemoryStorage } from "../../protocol/storage.js";

const kdf = { m: 1024, t: 1, p: 1 };
/** The cheapest parameters allowed: for tests that open a backup thousands of times. */
const tiny = { m: 8, t: 1, p: 1 };
const PW = "backup password 1";
const codeOf = async (f: () => Promise<unknown>): Promise<string> => {
  try {
    await f();
    return "success";
  } catch (e) {
    if (!ProtocolError.is(e)) throw e;
    return e.code;
  }
};

async function setup() {
  let t = 1_767_225_600_000;
  const now = () => t;
  const aStore = new MemoryStorage();
  const alice = await Client.create(
    aStore,
    { name: "alice", password: "alice password" },
    { kdf, now },
  );
  const bob = await Client.create(
    new MemoryStorage(),
    { name: "bob", password: "bob password" },
    { kdf, now },
  );
  await alice.addContact(bob.exportBundle());
  await bob.addContact(alice.exportBundle());
  await alice.markVerified("bob");
  await bob.decrypt((await alice.encrypt("bob", "hello bob")).envelope);
  t += 1000;
  await alice.decrypt((await bob.encrypt("alice", "hello alice")).envelope);
  return { alice, bob, aStore, now, advance: (ms: number) => (t += ms) };
}

async function records(storage: MemoryStorage, password: string): Promise<Records> {
  return Records.open(await Keystore.unlock(storage, password));
}

describe("account backup", () => {
  let s: Awaited<ReturnType<typeof setup>>;
  let file: Uint8Array;
  beforeAll(async () => {
    s = await setup();
    file = await s.alice.exportBackup(PW, kdf);
  });

  it("restores identity, prekeys, contacts with their verification, relay pins and history", async () => {
    const store = new MemoryStorage();
    const r = await restoreBackup(store, file, PW, { kdf });
    expect(r).toMatchObject({ address: "alice", contacts: 1, messages: 2, sessions: 1 });
    expect(r.fingerprint).toBe(s.alice.fingerprint);
    const restored = await Client.resume(store, r.dek, { kdf, now: s.now });
    expect(restored.address).toBe(s.alice.address);
    expect(restored.fingerprint).toBe(s.alice.fingerprint);
    expect(restored.prekeyId).toBe(s.alice.prekeyId);
    expect(equal(restored.bundle(), s.alice.bundle())).toBe(true);
    expect(await restored.contacts()).toEqual(await s.alice.contacts());
    expect((await restored.contact("bob")).verified).toBe(true);
    expect(await restored.history()).toEqual(await s.alice.history());
    // The new keystore opens with the backup password (no other was given), its own DEK.
    await expect(Client.open(store, PW, { now: s.now })).resolves.toBeDefined();
    expect(equal(r.dek, s.alice.exportDek())).toBe(false);
  });

  it("retires every restored session and clears each contact's sending session", async () => {
    const store = new MemoryStorage();
    await restoreBackup(store, file, PW, { newPassword: "another password", kdf });
    const rec = await records(store, "another password");
    const sessions = await rec.sessions();
    expect(sessions).toHaveLength(1);
    expect(sessions.every((x) => x.retired === true)).toBe(true);
    expect((await rec.contacts()).map((c) => c.session)).toEqual([null]);
  });

  it("a restored account reads what was in flight and starts new sessions to send", async () => {
    const { alice, bob, now } = await setup();
    const backup = await alice.exportBackup(PW, kdf);
    // After the backup, Bob writes on the old session, and Alice's device sends once more.
    const inFlight = await bob.encrypt("alice", "in flight");
    await bob.decrypt((await alice.encrypt("bob", "sent after the backup")).envelope);
    const answer = await bob.encrypt("alice", "an answer to that");
    // Then Alice's device is lost and she restores.
    const store = new MemoryStorage();
    const r = await restoreBackup(store, backup, PW, { kdf });
    const restored = await Client.resume(store, r.dek, { kdf, now });
    expect((await restored.decrypt(inFlight.envelope)).text).toBe("in flight");
    // Bob's answer steps to a ratchet key made after the backup, which it does not hold
    // (§14.4): lost, and reported as a failed check, not opened.
    expect(await codeOf(() => restored.decrypt(answer.envelope))).toBe("TAMPERED");
    const next = await restored.encrypt("bob", "after restore");
    expect(next.envelope[1]).toBe(0x01); // a prekey message: a new session
    const got = await bob.decrypt(next.envelope);
    expect(got).toMatchObject({ text: "after restore", firstContact: true });
    // Bob answers on the new session, and the restored account reads it.
    const reply = await bob.encrypt("alice", "welcome back");
    expect((await restored.decrypt(reply.envelope)).text).toBe("welcome back");
    // The sending chain of the old session was never used again.
    const rec = await records(store, PW);
    const old = (await rec.sessions()).filter((x) => x.retired);
    expect(old).toHaveLength(1);
    expect(toHex(old[0]!.state.sessionId)).not.toBe(toHex(next.envelope.subarray(2, 10)));
  });

  it("restores a session that has only sent (no receiving chain yet)", async () => {
    const a = await Client.create(
      new MemoryStorage(),
      { name: "a", password: "a password" },
      { kdf },
    );
    const b = await Client.create(
      new MemoryStorage(),
      { name: "b", password: "b password" },
      { kdf },
    );
    await a.addContact(b.exportBundle());
    await b.addContact(a.exportBundle());
    const first = await a.encrypt("b", "one");
    const store = new MemoryStorage();
    const r = await restoreBackup(store, await a.exportBackup(PW, tiny), PW, { kdf: tiny });
    expect(r.sessions).toBe(1);
    await b.decrypt(first.envelope);
    const reply = await b.encrypt("a", "two");
    const restored = await Client.resume(store, r.dek, { kdf: tiny });
    expect((await restored.decrypt(reply.envelope)).text).toBe("two");
  });

  it("wrong password: WRONG_PASSWORD, and nothing is written", async () => {
    const store = new MemoryStorage();
    expect(await codeOf(() => restoreBackup(store, file, "not the password", { kdf }))).toBe(
      ErrorCode.WRONG_PASSWORD,
    );
    expect(store.data.size).toBe(0);
  });

  it("refuses storage that already holds an account, and leaves it alone", async () => {
    const store = new MemoryStorage();
    await Client.create(store, { name: "carol", password: "carol password" }, { kdf });
    const before = new Map(store.data);
    expect(await codeOf(() => restoreBackup(store, file, PW, { kdf }))).toBe("ACCOUNT_EXISTS");
    expect(store.data).toEqual(before);
  });

  it("accepts BACKUP armor as well as the binary file", async () => {
    const p = await openBackup(armor("BACKUP", file), PW);
    expect(p.account.name).toBe("alice");
    expect(await codeOf(() => openBackup(armor("BUNDLE", file), PW))).toBe("BAD_ARMOR");
  });

  it("holds no plaintext, name, key or password outside the ciphertext", async () => {
    const rec = await records(s.aStore, "alice password");
    const account = (await rec.account())!;
    const secrets: [string, Uint8Array][] = [
      ["identity seed", account.identitySeed],
      ["identity seed half", account.identitySeed.subarray(0, 32)],
      ["prekey seed", account.prekeys[0]!.seed],
      ["DEK", s.alice.exportDek()],
      ["text", utf8("hello bob")],
      ["text", utf8("hello alice")],
      ["name", utf8("alice")],
      ["contact", utf8("bob")],
      ["password", utf8(PW)],
      ["format", utf8("secure-msg")],
    ];
    for (const x of (await rec.sessions()).map((y) => y.state))
      secrets.push(["root key", x.rk], ["session id", x.sessionId]);
    const hex = toHex(file);
    for (const [what, b] of secrets) expect(hex.includes(toHex(b)), what).toBe(false);
  });

  it("a changed byte is the right typed error: every header byte, the ciphertext sampled", async () => {
    const f = await s.alice.exportBackup(PW, tiny);
    const region = (i: number): string[] => {
      if (i < 8) return ["BAD_ENCODING"]; // magic
      if (i === 8) return ["UNSUPPORTED_VERSION"];
      if (i === 9) return ["BAD_ENCODING"]; // type
      if (i < 22) return ["BAD_ENCODING", "WRONG_PASSWORD"]; // Argon2id parameters
      if (i < 38) return ["WRONG_PASSWORD"]; // salt
      if (i < 50) return ["TAMPERED"]; // nonce: bound as AAD
      if (i < BACKUP_HEADER_LENGTH) return ["WRONG_PASSWORD"]; // check
      if (i < BACKUP_HEADER_LENGTH + 4) return ["BAD_ENCODING"]; // ciphertext length
      return ["TAMPERED"];
    };
    const positions = [...Array(f.length).keys()].filter(
      (i) => i < 600 || i >= f.length - 300 || i % 61 === 0,
    );
    for (const i of positions) {
      for (const mask of i < 70 ? [0x01, 0x80] : [0x01]) {
        const c = f.slice();
        c[i]! ^= mask;
        expect(region(i), `byte ${i} ^ ${mask}`).toContain(await codeOf(() => openBackup(c, PW)));
      }
    }
    expect(await codeOf(() => openBackup(f.subarray(0, f.length - 1), PW))).toBe("BAD_ENCODING");
    const longer = new Uint8Array(f.length + 1);
    longer.set(f);
    expect(await codeOf(() => openBackup(longer, PW))).toBe("BAD_ENCODING");
  }, 60_000);

  it("bounds the Argon2id parameters before running it", async () => {
    const c = file.slice();
    new DataView(c.buffer).setUint32(10, 4 * 1024 * 1024); // m = 4 GiB
    expect(await codeOf(() => openBackup(c, PW))).toBe("BAD_ENCODING");
    new DataView(c.buffer).setUint32(10, 65536);
    new DataView(c.buffer).setUint32(14, 1000); // t = 1000
    expect(await codeOf(() => openBackup(c, PW))).toBe("BAD_ENCODING");
  });

  describe("the payload is checked even though it is authenticated", () => {
    let payload: BackupPayload;
    beforeAll(async () => {
      payload = await openBackup(file, PW);
    });
    const reseal = async (p: unknown) =>
      codeOf(async () => openBackup(await sealBackup(p as BackupPayload, PW, tiny), PW));

    it("accepts itself resealed", async () => {
      expect(await reseal(payload)).toBe("success");
    });
    it("refuses unknown fields, wrong types and wrong lengths", async () => {
      expect(await reseal({ ...payload, extra: 1 })).toBe("BAD_ENCODING");
      expect(await reseal({ ...payload, format: "other" })).toBe("BAD_ENCODING");
      const seed = payload.account.identitySeed.subarray(0, 63);
      expect(
        await reseal({ ...payload, account: { ...payload.account, identitySeed: seed } }),
      ).toBe("BAD_ENCODING");
      expect(await reseal({ ...payload, messages: "none" })).toBe("BAD_ENCODING");
    });
    it("refuses a bundle that is not the account's, duplicates and dangling sessions", async () => {
      const other = await Client.create(
        new MemoryStorage(),
        { name: "alice", password: "x" },
        { kdf },
      );
      const account = { ...payload.account, bundle: other.bundle() };
      expect(await reseal({ ...payload, account })).toBe("BAD_ENCODING");
      expect(
        await reseal({ ...payload, contacts: [...payload.contacts, ...payload.contacts] }),
      ).toBe("BAD_ENCODING");
      expect(await reseal({ ...payload, contacts: [] })).toBe("BAD_ENCODING");
    });
    it("refuses an account bundle whose signature does not verify (§14.3)", async () => {
      const bundle = payload.account.bundle.slice();
      bundle[bundle.length - 1]! ^= 1; // the last byte of the signature
      expect(await reseal({ ...payload, account: { ...payload.account, bundle } })).toBe(
        "BAD_ENCODING",
      );
    });
    it("a payload bundle of another version is BAD_ENCODING, not the file's UNSUPPORTED_VERSION", async () => {
      const bundle = payload.account.bundle.slice();
      bundle[0] = 2;
      expect(await reseal({ ...payload, account: { ...payload.account, bundle } })).toBe(
        "BAD_ENCODING",
      );
    });
    it("refuses a contact whose bundle is not its pinned identity's (§14.3)", async () => {
      const mallory = await Client.create(
        new MemoryStorage(),
        { name: "bob", password: "x" },
        { kdf },
      );
      const [bob] = payload.contacts;
      // Bob's pinned (and verified) key, but a bundle that starts sessions to Mallory's.
      const swapped = { ...bob!, bundle: mallory.bundle() };
      expect(await reseal({ ...payload, contacts: [swapped] })).toBe("BAD_ENCODING");
      const forged = bob!.bundle!.slice();
      forged[forged.length - 1]! ^= 1;
      expect(await reseal({ ...payload, contacts: [{ ...bob!, bundle: forged }] })).toBe(
        "BAD_ENCODING",
      );
    });
    it("keeps the Argon2id parameters it was sealed with in the header", async () => {
      const bytes = await sealBackup(payload, PW, tiny);
      const { header } = decodeBackup(bytes);
      expect(header.params).toEqual(tiny);
    });
  });

  it("the decoder returns a typed error for any input (fast-check)", async () => {
    const valid = await s.alice.exportBackup(PW, tiny);
    const mutated = fc
      .array(
        fc.record({
          at: fc.nat(valid.length - 1),
          v: fc.integer({ min: 0, max: 255 }),
          cut: fc.boolean(),
        }),
        { minLength: 1, maxLength: 3 },
      )
      .map((edits) => {
        let b = valid.slice();
        for (const e of edits) {
          if (e.cut) b = b.subarray(0, e.at);
          else if (e.at < b.length) b[e.at] = e.v;
        }
        return b;
      });
    const input = fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated);
    fc.assert(
      fc.property(input, (b) => {
        try {
          decodeBackup(b);
        } catch (e) {
          expect(ProtocolError.is(e)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
    await fc.assert(
      fc.asyncProperty(mutated, async (b) => {
        const c = await codeOf(() => openBackup(b, PW));
        expect(c === "success" ? equal(b, valid) : true).toBe(true);
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});
