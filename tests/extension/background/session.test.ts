import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { onAlarm } from "../../../extension/background/alarms.js";
import { IdbStorage } from "../../../extension/background/idb-storage.js";
import { AUTO_LOCK_ALARM, Session } from "../../../extension/background/session.js";
import { DEFAULT_RELAY } from "../../../extension/background/settings.js";
import type { Sender } from "../../../extension/background/trust.js";
import { ProtocolError } from "../../../protocol/errors.js";
import { FakeBrowser, frame, popup } from "./fake-browser.js";
import { kdf, offline, PASSWORD, worker } from "./worker.js";

const code = (c: string) => (e: unknown) => ProtocolError.is(e, c as never);

describe("session: create, lock, unlock", () => {
  it("goes none → unlocked → locked → (wrong password) → unlocked", async () => {
    const w = await worker();
    expect(w.browser.accessLevel).toBe("TRUSTED_CONTEXTS");
    expect(await w.call({ type: "state" })).toEqual({ status: "none" });

    const created = await w.call({
      type: "createAccount",
      relay: DEFAULT_RELAY,
      name: "alice",
      password: PASSWORD,
    });
    expect(created).toMatchObject({
      status: "unlocked",
      name: "alice",
      address: "alice@127.0.0.1:8787",
      registered: false, // the relay is unreachable in this test: publishing is retried later
    });
    expect(w.browser.storage.session.data.get("dek")).toEqual(expect.any(String));
    expect(w.browser.alarmsSet.get(AUTO_LOCK_ALARM)).toEqual({ delayInMinutes: 15 });
    expect((await w.call({ type: "state" })).status).toBe("unlocked");

    expect(await w.call({ type: "lock" })).toEqual({ status: "locked" });
    expect(w.browser.storage.session.data.has("dek")).toBe(false);
    expect(w.browser.alarmsSet.has(AUTO_LOCK_ALARM)).toBe(false);
    await expect(w.call({ type: "contacts" })).rejects.toSatisfy(code("LOCKED"));

    await expect(w.call({ type: "unlock", password: "not the password" })).rejects.toSatisfy(
      code("WRONG_PASSWORD"),
    );
    expect((await w.call({ type: "state" })).status).toBe("locked");

    const unlocked = await w.call({ type: "unlock", password: PASSWORD });
    expect(unlocked).toEqual({ ...created, registered: undefined, status: "unlocked" });
    expect(await w.call({ type: "contacts" })).toEqual([]);
  });

  it("refuses short passwords and a second account", async () => {
    const w = await worker();
    const req = { type: "createAccount", relay: DEFAULT_RELAY, name: "bob" } as const;
    await expect(w.call({ ...req, password: "short" })).rejects.toSatisfy(code("INVALID_ARGUMENT"));
    expect(await w.call({ type: "state" })).toEqual({ status: "none" });
    await w.call({ ...req, password: PASSWORD });
    await expect(w.call({ ...req, password: PASSWORD })).rejects.toSatisfy(code("ACCOUNT_EXISTS"));
  });

  it("changes the password", async () => {
    const w = await worker();
    await w.call({
      type: "createAccount",
      relay: DEFAULT_RELAY,
      name: "carol",
      password: PASSWORD,
    });
    const change = { type: "changePassword", newPassword: "a brand new passphrase" } as const;
    await expect(w.call({ ...change, oldPassword: "wrong password!" })).rejects.toSatisfy(
      code("WRONG_PASSWORD"),
    );
    expect(await w.call({ ...change, oldPassword: PASSWORD })).toBeNull();
    await w.call({ type: "lock" });
    await expect(w.call({ type: "unlock", password: PASSWORD })).rejects.toSatisfy(
      code("WRONG_PASSWORD"),
    );
    expect((await w.call({ type: "unlock", password: "a brand new passphrase" })).name).toBe(
      "carol",
    );
  });
});

describe("session: worker restarts and auto-lock", () => {
  it("a restarted worker resumes from storage.session without the password", async () => {
    const w = await worker();
    const created = await w.call({
      type: "createAccount",
      relay: DEFAULT_RELAY,
      name: "dave",
      password: PASSWORD,
    });
    w.storage.close();

    // The worker is stopped: memory is gone, storage.session and IndexedDB stay.
    const again = await worker({ browser: w.browser, db: w.db });
    expect(await again.call({ type: "state" })).toEqual({
      status: "unlocked",
      name: "dave",
      address: created.address,
      relay: created.relay,
      fingerprint: created.fingerprint,
    });
    expect(await again.call({ type: "contacts" })).toEqual([]);

    // The browser restarts: storage.session is cleared, so the account is locked.
    again.storage.close();
    const rebooted = await worker({ browser: w.browser.restart(), db: w.db });
    expect(await rebooted.call({ type: "state" })).toEqual({ status: "locked" });
    expect((await rebooted.call({ type: "unlock", password: PASSWORD })).name).toBe("dave");
  });

  it("the auto-lock alarm wipes the keys; each request pushes it back", async () => {
    const w = await worker();
    await w.call({ type: "setSettings", autoLockMinutes: 5 });
    await w.call({ type: "createAccount", relay: DEFAULT_RELAY, name: "erin", password: PASSWORD });
    expect(w.browser.alarmsSet.get(AUTO_LOCK_ALARM)).toEqual({ delayInMinutes: 5 });
    w.browser.alarmsSet.clear();
    await w.call({ type: "contacts" });
    expect(w.browser.alarmsSet.get(AUTO_LOCK_ALARM)).toEqual({ delayInMinutes: 5 });

    await onAlarm(w.ctx, AUTO_LOCK_ALARM);
    expect(w.browser.storage.session.data.has("dek")).toBe(false);
    expect(w.browser.badgeText).toBe("");
    expect(await w.call({ type: "state" })).toEqual({ status: "locked" });
    await expect(w.call({ type: "contacts" })).rejects.toSatisfy(code("LOCKED"));

    // A worker started after the auto-lock cannot resume either.
    const again = await worker({ browser: w.browser, db: w.db });
    expect(await again.call({ type: "state" })).toEqual({ status: "locked" });
  });

  it("what a frame in a page asks on loading never pushes the auto-lock back", async () => {
    // A page can reload our decrypt and compose frames at will by moving their hosts.
    const w = await worker();
    await w.call({ type: "createAccount", relay: DEFAULT_RELAY, name: "gil", password: PASSWORD });
    const inPage = { ...frame, frameId: 3 };
    const chooser = { ...popup, tab: { id: 9 }, frameId: 0 };
    const pushed = async (req: Parameters<typeof w.ask>[0], sender: Sender) => {
      w.browser.alarmsSet.clear();
      await w.ask(req, sender);
      return w.browser.alarmsSet.has(AUTO_LOCK_ALARM);
    };
    expect(await pushed({ type: "state" }, inPage)).toBe(false);
    expect(await pushed({ type: "contacts" }, inPage)).toBe(false);
    expect(await pushed({ type: "insertion", id: "x".repeat(16) }, inPage)).toBe(false);
    // A frame whose place the browser did not report counts as in a page.
    expect(await pushed({ type: "contacts" }, frame)).toBe(false);
    // The popup, and our pages in a window of their own, are the user.
    expect(await pushed({ type: "contacts" }, popup)).toBe(true);
    expect(await pushed({ type: "contacts" }, chooser)).toBe(true);
    // A request that fails is no activity, even from the popup.
    expect(await pushed({ type: "contact", address: "nobody@127.0.0.1:8787" }, popup)).toBe(false);
  });

  it("the auto-lock also works on a worker that has not resumed yet", async () => {
    const w = await worker();
    await w.call({ type: "createAccount", relay: DEFAULT_RELAY, name: "fay", password: PASSWORD });
    const woken = await worker({ browser: w.browser, db: w.db });
    await onAlarm(woken.ctx, AUTO_LOCK_ALARM);
    expect(w.browser.storage.session.data.has("dek")).toBe(false);
    expect(await woken.call({ type: "state" })).toEqual({ status: "locked" });
  });

  it("forgets a DEK that does not open this storage", async () => {
    const browser = new FakeBrowser();
    const storage = await IdbStorage.open("session-test-foreign-dek");
    const a = new Session(storage, browser, { kdf, fetch: offline });
    await a.create({ name: "gus", relay: DEFAULT_RELAY, password: PASSWORD });
    await browser.storage.session.set({ dek: `${"A".repeat(43)}=` }); // 32 zero bytes
    const b = new Session(storage, browser, { kdf, fetch: offline });
    expect(await b.state()).toEqual({ status: "locked" });
    expect(browser.storage.session.data.has("dek")).toBe(false);
  });
});

describe("settings", () => {
  it("has defaults, validates, and stores only non-secret values", async () => {
    const w = await worker();
    expect(await w.call({ type: "settings" })).toEqual({
      autoLockMinutes: 15,
      relay: DEFAULT_RELAY,
    });
    await expect(w.call({ type: "setSettings", autoLockMinutes: 0 })).rejects.toSatisfy(
      code("INVALID_ARGUMENT"),
    );
    await expect(w.call({ type: "setSettings", relay: "ftp://x" })).rejects.toSatisfy(
      code("INVALID_ARGUMENT"),
    );
    expect(await w.call({ type: "setSettings", relay: "https://relay.example/" })).toEqual({
      autoLockMinutes: 15,
      relay: "https://relay.example",
    });
    await w.call({ type: "createAccount", relay: DEFAULT_RELAY, name: "hal", password: PASSWORD });
    const local = JSON.stringify([...w.browser.storage.local.data]);
    expect(local).not.toContain(PASSWORD);
    expect(local).not.toContain(w.browser.storage.session.data.get("dek") as string);
  });
});
