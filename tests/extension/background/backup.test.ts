/**
 * The worker's backup handlers (exportBackup, importBackup) and its reviews of changed
 * keys (a contact's identity key, a relay's keys), through dispatch as the popup calls
 * them: real storage, session and protocol; a relay app in memory where one is needed.
 */
import "fake-indexeddb/auto";
import { afterEach, describe, expect, it } from "vitest";
import { BACKUP_MAGIC } from "../../../protocol/backup.js";
import { base64, equal } from "../../../protocol/bytes.js";
import { Client } from "../../../protocol/client.js";
import { ProtocolError } from "../../../protocol/errors.js";
import { MemoryStorage } from "../../../protocol/storage.js";
import { createApp } from "../../../relay/app.js";
import { DEFAULTS } from "../../../relay/config.js";
import { checkRelayKey } from "../../../relay/rekey.js";
import { RelaySigner } from "../../../relay/signer.js";
import { SqliteStore } from "../../../relay/storage/sqlite.js";
import { contentScript } from "./fake-browser.js";
import { kdf, PASSWORD, type Worker, worker } from "./worker.js";

const URL_ = "http://127.0.0.1:9102";
const BACKUP_PASSWORD = "a long backup password";
const workers: Worker[] = [];
const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return "success";
  } catch (e) {
    return ProtocolError.is(e) ? e.code : (e as { code?: string }).code;
  }
};

afterEach(async () => {
  for (const w of workers.splice(0)) await w.call({ type: "lock" }).catch(() => undefined);
});

async function relay() {
  const store = SqliteStore.open(":memory:");
  const config = { ...DEFAULTS, url: URL_ };
  let { app } = createApp({ store, signer: await RelaySigner.generate(), config });
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    if (url.origin !== URL_) throw new TypeError("fetch failed");
    return app.request(url.pathname + url.search, init);
  }) as typeof globalThis.fetch;
  /** Same relay, same data, new keys: a new key file started with --rekey. */
  const rekey = async () => {
    const signer = await RelaySigner.generate();
    await checkRelayKey(store, signer, true);
    ({ app } = createApp({ store, signer, config }));
  };
  return { fetch, rekey };
}

async function user(name: string, fetch?: typeof globalThis.fetch) {
  const w = await worker(fetch ? { fetch } : {});
  workers.push(w);
  await w.call({ type: "createAccount", relay: URL_, name, password: PASSWORD });
  return w;
}

describe("backup in the worker", () => {
  it("exports only with the account password and a long enough backup password", async () => {
    const alice = await user("alice");
    const ask = (password: string, backupPassword: string) =>
      alice.call({ type: "exportBackup", password, backupPassword });
    expect(await codeOf(ask("not my password", BACKUP_PASSWORD))).toBe("WRONG_PASSWORD");
    expect(await codeOf(ask(PASSWORD, "short"))).toBe("INVALID_ARGUMENT");
    const r = await ask(PASSWORD, BACKUP_PASSWORD);
    const bytes = base64.decode(r.data);
    expect(equal(bytes.subarray(0, 8), BACKUP_MAGIC)).toBe(true);
    expect(r.bytes).toBe(bytes.length);
    expect(r.filename).toMatch(/^secure-msg-alice_127\.0\.0\.1_9102-\d{4}-\d\d-\d\d\.backup$/);
    // Never to a content script.
    const fromPage = await alice.ask(
      { type: "exportBackup", password: PASSWORD, backupPassword: BACKUP_PASSWORD },
      contentScript,
    );
    expect(fromPage).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
  });

  it("imports into a browser without an account, unlocked, with contacts and history", async () => {
    const alice = await user("alice");
    const bob = await Client.create(
      new MemoryStorage(),
      { name: "bob", relay: URL_, password: "bob password" },
      { kdf },
    );
    await alice.call({ type: "addContact", bundle: bob.exportBundle() });
    await alice.call({ type: "verifyContact", address: "bob@127.0.0.1:9102" });
    const armor = await alice.call({
      type: "encryptFor",
      to: "bob",
      text: "before the backup",
      compact: false,
    });
    await bob.decrypt(armor);
    const { data } = await alice.call({
      type: "exportBackup",
      password: PASSWORD,
      backupPassword: BACKUP_PASSWORD,
    });

    const fresh = await worker();
    workers.push(fresh);
    expect(await fresh.call({ type: "state" })).toEqual({ status: "none" });
    const wrong = fresh.call({ type: "importBackup", data, password: "not the backup password" });
    expect(await codeOf(wrong)).toBe("WRONG_PASSWORD");
    expect(await fresh.call({ type: "state" })).toEqual({ status: "none" });
    expect(await codeOf(fresh.call({ type: "importBackup", data: "%%", password: "x" }))).toBe(
      "BAD_ENCODING",
    );

    const r = await fresh.call({ type: "importBackup", data, password: BACKUP_PASSWORD });
    const before = await alice.call({ type: "state" });
    expect(r).toMatchObject({ ...before, contacts: 1, messages: 1, sessions: 1 });
    expect(await fresh.call({ type: "contacts" })).toMatchObject([
      { address: "bob@127.0.0.1:9102", verified: true, keyChanged: false },
    ]);
    const thread = await fresh.call({ type: "thread", peer: "bob@127.0.0.1:9102" });
    expect(thread.messages.map((m) => m.text)).toEqual(["before the backup"]);
    // A new session: a first message again, which Bob reads.
    const next = await fresh.call({
      type: "encryptFor",
      to: "bob",
      text: "restored",
      compact: false,
    });
    expect((await bob.decrypt(next)).text).toBe("restored");
    // The restored account is protected by the backup password.
    await fresh.call({ type: "lock" });
    expect(await codeOf(fresh.call({ type: "unlock", password: PASSWORD }))).toBe("WRONG_PASSWORD");
    await fresh.call({ type: "unlock", password: BACKUP_PASSWORD });
  });

  it("replaces an account only with its password, in one write", async () => {
    const alice = await user("alice");
    const { data } = await alice.call({
      type: "exportBackup",
      password: PASSWORD,
      backupPassword: BACKUP_PASSWORD,
    });
    const carol = await user("carol");
    const keysBefore = await carol.storage.list("");
    expect(
      await codeOf(carol.call({ type: "importBackup", data, password: BACKUP_PASSWORD })),
    ).toBe("ACCOUNT_EXISTS");
    const wrong = carol.call({
      type: "importBackup",
      data,
      password: BACKUP_PASSWORD,
      currentPassword: "not carol's",
    });
    expect(await codeOf(wrong)).toBe("WRONG_PASSWORD");
    expect(await carol.storage.list("")).toEqual(keysBefore);
    expect(await carol.call({ type: "state" })).toMatchObject({ name: "carol" });

    const r = await carol.call({
      type: "importBackup",
      data,
      password: BACKUP_PASSWORD,
      currentPassword: PASSWORD,
    });
    expect(r.name).toBe("alice");
    const after = await carol.storage.list("");
    // Carol's records are gone; only the restored account's are left.
    expect(
      after.filter((k) => keysBefore.includes(k) && k !== "keystore" && k !== "account"),
    ).toEqual([]);
    await carol.call({ type: "lock" });
    expect(await carol.call({ type: "unlock", password: BACKUP_PASSWORD })).toMatchObject({
      name: "alice",
    });
  });
});

describe("changed keys in the worker", () => {
  it("blocks sending to a contact whose identity key changed until it is reviewed", async () => {
    const { fetch } = await relay();
    const alice = await user("alice", fetch);
    await user("bob", fetch); // the bob the relay's directory knows
    // Alice first met another "bob" (its bundle names the same relay).
    const other = await Client.create(
      new MemoryStorage(),
      { name: "bob", relay: URL_, password: "other bob" },
      { kdf },
    );
    await alice.call({ type: "addContact", bundle: other.exportBundle() });
    const lookup = alice.call({ type: "addContact", address: "bob@127.0.0.1:9102" });
    expect(await codeOf(lookup)).toBe("IDENTITY_CHANGED");
    expect(await alice.call({ type: "contacts" })).toMatchObject([{ keyChanged: true }]);
    const send = alice.call({ type: "send", to: "bob", text: "hi" });
    expect(await codeOf(send)).toBe("IDENTITY_CHANGED");
    const enc = alice.call({ type: "encryptFor", to: "bob", text: "hi", compact: true });
    expect(await codeOf(enc)).toBe("IDENTITY_CHANGED");

    // Keeping the old key ends the review; the old key stays pinned.
    const fpOld = (await alice.call({ type: "contacts" }))[0]!.fingerprint;
    await alice.call({ type: "keepContactKey", address: "bob" });
    expect(await alice.call({ type: "contacts" })).toMatchObject([
      { keyChanged: false, fingerprint: fpOld },
    ]);
    await alice.call({ type: "encryptFor", to: "bob", text: "hi", compact: true });

    // A new review, ended by accepting the new key.
    expect(await codeOf(alice.call({ type: "addContact", address: "bob@127.0.0.1:9102" }))).toBe(
      "IDENTITY_CHANGED",
    );
    await alice.call({
      type: "addContact",
      address: "bob@127.0.0.1:9102",
      acceptChangedIdentity: true,
    });
    const [bob] = await alice.call({ type: "contacts" });
    expect(bob).toMatchObject({ keyChanged: false, verified: false });
    expect(bob!.fingerprint).not.toBe(fpOld);
    expect((await alice.call({ type: "send", to: "bob", text: "hi" })).delivered).toBe(true);
  });

  it("shows a relay's new fingerprint and pins exactly the keys the user accepted", async () => {
    const r = await relay();
    const alice = await user("alice", r.fetch);
    const pinned = (await alice.call({ type: "settings" })).relayFingerprint!;
    await r.rekey();
    expect(await codeOf(alice.call({ type: "fetch" }))).toBe("RELAY_KEY_CHANGED");
    const shown = await alice.call({ type: "relayKey", url: URL_ });
    expect(shown).toMatchObject({ url: URL_, pinned });
    expect(shown.fingerprint).not.toBe(pinned);

    // The relay changes its keys again after the user looked: nothing is pinned.
    await r.rekey();
    const stale = alice.call({ type: "acceptRelayKey", url: URL_, fingerprint: shown.fingerprint });
    expect(await codeOf(stale)).toBe("RELAY_KEY_CHANGED");
    expect(await codeOf(alice.call({ type: "fetch" }))).toBe("RELAY_KEY_CHANGED");

    const now = await alice.call({ type: "relayKey", url: URL_ });
    await alice.call({ type: "acceptRelayKey", url: URL_, fingerprint: now.fingerprint });
    expect((await alice.call({ type: "settings" })).relayFingerprint).toBe(now.fingerprint);
    await alice.call({ type: "fetch" });
  });
});
