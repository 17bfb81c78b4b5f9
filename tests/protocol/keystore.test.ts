import { describe, expect, it } from "vitest";
import type { AccountRecord } from "../../protocol/account.js";
import { utf8 } from "../../protocol/bytes.js";
import { Client } from "../../protocol/client.js";
import { ProtocolError } from "../../protocol/errors.js";
import { DEFAULT_KDF, decodeHeader, HEADER_KEY, Keystore } from "../../protocol/keystore.js";
import type { RatchetState } from "../../protocol/ratchet.js";
import { MemoryStorage } from "../../protocol/storage.js";

const kdf = { m: 1024, t: 1, p: 1 };
const code = (c: string) => (e: unknown) => ProtocolError.is(e, c as never);

/** True if any 16-byte window of `needle` occurs in `hay`. */
function leaks(hay: Uint8Array, needle: Uint8Array): boolean {
  const w = Math.min(16, needle.length);
  for (let s = 0; s + w <= needle.length; s += w) {
    const win = needle.subarray(s, s + w);
    outer: for (let i = 0; i + w <= hay.length; i++) {
      for (let j = 0; j < w; j++) if (hay[i + j] !== win[j]) continue outer;
      return true;
    }
  }
  return false;
}

describe("keystore", () => {
  it("stores no private key bytes, no plaintext, no names and no password in the clear", async () => {
    const aStore = new MemoryStorage();
    const bStore = new MemoryStorage();
    const alice = await Client.create(
      aStore,
      { name: "alice", password: "alice-password-1" },
      { kdf },
    );
    const bob = await Client.create(bStore, { name: "bob", password: "bob-password-12" }, { kdf });
    await alice.addContact(bob.exportBundle());
    const text = "meet me at the purple elephant at nine";
    await bob.decrypt((await alice.encrypt("bob", text)).envelope);
    await alice.decrypt((await bob.encrypt("alice", `${text}, ok`)).envelope);

    for (const [store, password] of [
      [aStore, "alice-password-1"],
      [bStore, "bob-password-12"],
    ] as const) {
      const ks = await Keystore.unlock(store, password);
      const account = (await ks.get<AccountRecord>("account"))!;
      const secrets: Uint8Array[] = [
        ks.exportDek(),
        account.identitySeed,
        ...account.prekeys.map((p) => p.seed),
      ];
      for (const key of await ks.list("session/")) {
        const s = (await ks.get<{ state: RatchetState }>(key))!.state;
        secrets.push(s.rk, ...(s.dhs ? [s.dhs.secretKey] : []), ...s.myPq.map((k) => k.seed));
        if (s.sendCk) secrets.push(s.sendCk);
        if (s.recvCk) secrets.push(s.recvCk);
      }
      expect(secrets.length).toBeGreaterThan(6);
      const clear = [utf8(text), utf8("alice"), utf8("bob"), utf8(password)];
      for (const [key, value] of store.data) {
        for (const s of secrets) expect(leaks(value, s), `secret bytes in ${key}`).toBe(false);
        for (const c of clear) expect(leaks(value, c), `clear text in ${key}`).toBe(false);
        expect(key).not.toMatch(/alice|bob/);
      }
    }
  });

  it("a wrong password is WRONG_PASSWORD and changes nothing", async () => {
    const store = new MemoryStorage();
    await Keystore.create(store, "right password", kdf);
    const before = new Map(store.data);
    await expect(Keystore.unlock(store, "wrong password")).rejects.toSatisfy(
      code("WRONG_PASSWORD"),
    );
    expect(store.data).toEqual(before);
  });

  it("changing the password re-wraps the DEK only", async () => {
    const store = new MemoryStorage();
    const ks = await Keystore.create(store, "old password", kdf);
    await ks.write([{ key: "note", value: { secret: utf8("x") } }]);
    const record = (await store.get("note"))!;
    await expect(ks.changePassword("not the old one", "new password")).rejects.toSatisfy(
      code("WRONG_PASSWORD"),
    );
    await ks.changePassword("old password", "new password", { m: 2048, t: 2, p: 1 });
    expect(await store.get("note")).toEqual(record);
    await expect(Keystore.unlock(store, "old password")).rejects.toSatisfy(code("WRONG_PASSWORD"));
    const again = await Keystore.unlock(store, "new password");
    expect(await again.get("note")).toEqual({ secret: utf8("x") });
    expect(decodeHeader((await store.get(HEADER_KEY))!).params).toEqual({ m: 2048, t: 2, p: 1 });
  });

  it("uses Argon2id at m=64 MiB, t=3, p=1 by default, and stores the parameters", async () => {
    const store = new MemoryStorage();
    const ks = await Keystore.create(store, "a real password");
    expect(decodeHeader((await store.get(HEADER_KEY))!).params).toEqual(DEFAULT_KDF);
    expect(DEFAULT_KDF).toEqual({ m: 65536, t: 3, p: 1 });
    ks.lock();
    await expect(ks.get("x")).rejects.toSatisfy(code("LOCKED"));
  });

  it("refuses parameters out of bounds and a second keystore in one place", async () => {
    const store = new MemoryStorage();
    await expect(Keystore.create(store, "pw", { m: 4, t: 1, p: 1 })).rejects.toSatisfy(
      code("INVALID_ARGUMENT"),
    );
    await Keystore.create(store, "pw", kdf);
    await expect(Keystore.create(store, "pw", kdf)).rejects.toSatisfy(code("ACCOUNT_EXISTS"));
  });

  it("lock wipes the identity seed and prekey secrets in memory, and nothing of it is stored", async () => {
    const store = new MemoryStorage();
    const alice = await Client.create(
      store,
      { name: "alice", password: "alice-password-1" },
      { kdf },
    );
    const account = (alice as unknown as { account: AccountRecord }).account;
    const secrets = [account.identitySeed, ...account.prekeys.map((p) => p.seed)];
    expect(secrets.every((b) => b.some((x) => x !== 0))).toBe(true);
    alice.lock();
    for (const b of secrets) expect(b.every((x) => x === 0)).toBe(true);
    const again = await Client.open(store, "alice-password-1");
    expect(again.fingerprint).toBe(alice.fingerprint);
  });

  it("resumes from an exported DEK, and refuses a DEK of another store", async () => {
    const store = new MemoryStorage();
    const alice = await Client.create(
      store,
      { name: "alice", password: "alice-password-1" },
      { kdf },
    );
    const again = await Client.resume(store, alice.exportDek());
    expect(again.fingerprint).toBe(alice.fingerprint);
    await expect(Client.resume(store, new Uint8Array(32))).rejects.toSatisfy(code("CORRUPT_STORE"));
  });
});
