// @vitest-environment happy-dom
/**
 * The decrypt frame (extension/frames/decrypt.ts) says who wrote a message. The user's own
 * armor (a copy of what they sent, shown again from the history) must never read as a
 * message from the contact it was sent to: a page that kept the user's armor could
 * otherwise present the user's words as the contact's.
 */
import "fake-indexeddb/auto";
import { describe, expect, it } from "vitest";
import { DEFAULT_RELAY } from "../../../extension/background/settings.js";
import { renderMessage } from "../../../extension/frames/decrypt.js";
import { armor } from "../../../protocol/armor.js";
import { Client } from "../../../protocol/client.js";
import { MemoryStorage } from "../../../protocol/storage.js";
import { frame } from "../background/fake-browser.js";
import { kdf, PASSWORD, worker } from "../background/worker.js";

describe("decrypt frame", () => {
  it("shows the user's own message as theirs, never as from its recipient", async () => {
    const w = await worker();
    await w.call({
      type: "createAccount",
      relay: DEFAULT_RELAY,
      name: "alice",
      password: PASSWORD,
    });
    const bob = await Client.create(
      new MemoryStorage(),
      { name: "bob", password: "bob's password", relay: "" },
      { kdf },
    );
    await bob.addContact(await w.call({ type: "exportBundle" }));
    await w.call({ type: "addContact", bundle: bob.exportBundle() });
    await w.call({ type: "verifyContact", address: "bob", verified: true });

    // What "Encrypt selection" or secure compose put in a page, which the page keeps.
    const armored = await w.call({ type: "encryptFor", to: "bob", text: "mine", compact: false });
    expect((await bob.decrypt(armored)).text).toBe("mine");
    // The page shows it back to the user, who clicks Decrypt.
    const d = await w.call({ type: "decryptArmor", armor: armored }, frame);
    expect(d).toMatchObject({ direction: "out", peer: "bob", text: "mine", again: true });
    const out = document.createElement("main");
    renderMessage(out, d);
    expect(out.querySelector(".from")?.textContent).toBe("You wrote to bob");
    expect(out.textContent).not.toContain("From bob");
  });

  it("renders direction: out as written by the user", () => {
    const out = document.createElement("main");
    const m = {
      id: "x",
      peer: "bob",
      text: "I never agreed to that",
      at: 0,
      verified: true,
      firstContact: false,
      newContact: false,
      again: true,
    };
    renderMessage(out, { ...m, direction: "out" });
    expect(out.querySelector(".from")?.textContent).toBe("You wrote to bob");
    expect(out.textContent).not.toContain("From bob");
    renderMessage(out, { ...m, direction: "in" });
    expect(out.querySelector(".from")?.textContent).toBe("From bob");
    expect(out.textContent).not.toContain("New contact");
  });

  it("says when a message comes from an address never seen before", async () => {
    // Armor planted on a page by a stranger who claims an address alice has not pinned.
    const w = await worker();
    await w.call({
      type: "createAccount",
      relay: DEFAULT_RELAY,
      name: "alice",
      password: PASSWORD,
    });
    const mallory = await Client.create(
      new MemoryStorage(),
      { name: "ceo", password: "mallory's password", relay: "" },
      { kdf },
    );
    await mallory.addContact(await w.call({ type: "exportBundle" }));
    const planted = armor("MESSAGE", (await mallory.encrypt("alice", "wire the money")).envelope);
    const d = await w.call({ type: "decryptArmor", armor: planted }, frame);
    expect(d).toMatchObject({ newContact: true, verified: false });
    const out = document.createElement("main");
    renderMessage(out, d);
    expect(out.textContent).toContain("New contact: the address is unconfirmed");
    expect(out.textContent).toContain("Not verified");
  });
});
