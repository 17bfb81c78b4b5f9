/**
 * The worker against a real relay app in memory (fetch routed to `app.request`): account
 * registration, lookup, the outbox while the relay is down, polling, the badge and the
 * notifications.
 */
import "fake-indexeddb/auto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { onAlarm, POLL_ALARM } from "../../../extension/background/alarms.js";
import { createApp } from "../../../relay/app.js";
import { DEFAULTS } from "../../../relay/config.js";
import { RelaySigner } from "../../../relay/signer.js";
import { SqliteStore } from "../../../relay/storage/sqlite.js";
import { PASSWORD, type Worker, worker } from "./worker.js";

const URL_ = "http://127.0.0.1:9101";
const workers: Worker[] = [];

async function relay() {
  const store = SqliteStore.open(":memory:");
  const signer = await RelaySigner.generate();
  const { app } = createApp({ store, signer, config: { ...DEFAULTS, url: URL_ } });
  const net = { up: true };
  const routed = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    if (!net.up || url.origin !== URL_) throw new TypeError("fetch failed");
    return app.request(url.pathname + url.search, init);
  }) as typeof fetch;
  return { fetch: routed, net };
}

async function user(name: string, fetch: typeof globalThis.fetch) {
  const w = await worker({ fetch });
  workers.push(w);
  const r = await w.call({ type: "createAccount", relay: URL_, name, password: PASSWORD });
  expect(r.registered).toBe(true);
  return w;
}

afterEach(async () => {
  // Locking stops the event streams.
  for (const w of workers.splice(0)) await w.call({ type: "lock" });
});

describe("the worker with a relay", () => {
  it("registers, adds by address, sends, polls with badge and notification", async () => {
    const { fetch } = await relay();
    const alice = await user("alice", fetch);
    const bob = await user("bob", fetch);
    expect((await alice.call({ type: "settings" })).relayFingerprint).toEqual(expect.any(String));

    const c = await alice.call({ type: "addContact", address: "bob@127.0.0.1:9101" });
    expect(c.address).toBe("bob@127.0.0.1:9101");
    const sent = await alice.call({ type: "send", to: "bob", text: "the secret text" });
    expect(sent.delivered).toBe(true);

    await onAlarm(bob.ctx, POLL_ALARM);
    expect(bob.browser.badgeText).toBe("1");
    expect(bob.browser.notes).toEqual([
      { title: "SECURE-MSG", message: "New message from alice@127.0.0.1:9101" },
    ]);
    expect(JSON.stringify(bob.browser.notes)).not.toContain("the secret text");
    const [conv] = await bob.call({ type: "conversations" });
    expect(conv).toMatchObject({ peer: "alice@127.0.0.1:9101", unread: 1 });
    expect(conv?.last.text).toBe("the secret text");

    await bob.call({ type: "thread", peer: "alice@127.0.0.1:9101" });
    expect(bob.browser.badgeText).toBe("");

    // Bob answers; Alice fetches from the popup.
    await bob.call({ type: "send", to: "alice@127.0.0.1:9101", text: "got it" });
    const fetched = await alice.call({ type: "fetch" });
    expect(fetched.received).toEqual(["bob@127.0.0.1:9101"]);
    expect(alice.browser.badgeText).toBe("1");
  });

  it("while the worker lives, the relay's event stream brings messages without a poll", async () => {
    const { fetch } = await relay();
    const alice = await user("alice", fetch);
    const bob = await user("bob", fetch);
    await alice.call({ type: "addContact", address: "bob@127.0.0.1:9101" });
    await onAlarm(bob.ctx, POLL_ALARM); // the first beat opens the stream
    await new Promise((r) => setTimeout(r, 200));
    await alice.call({ type: "send", to: "bob", text: "pushed" });
    await vi.waitFor(() => expect(bob.browser.badgeText).toBe("1"), { timeout: 5000 });
    expect(bob.browser.notes.map((n) => n.message)).toEqual([
      "New message from alice@127.0.0.1:9101",
    ]);
  });

  it("keeps a message composed while the relay is down, and sends it later", async () => {
    const { fetch, net } = await relay();
    const alice = await user("alice", fetch);
    const bob = await user("bob", fetch);
    await alice.call({ type: "addContact", address: "bob@127.0.0.1:9101" });

    net.up = false;
    const sent = await alice.call({ type: "send", to: "bob", text: "queued one" });
    expect(sent).toMatchObject({ delivered: false, errorCode: "RELAY_UNAVAILABLE" });
    let t = await alice.call({ type: "thread", peer: "bob@127.0.0.1:9101" });
    expect(t.messages.map((m) => [m.text, m.state])).toEqual([["queued one", "queued"]]);
    await expect(alice.call({ type: "fetch" })).rejects.toMatchObject({
      code: "RELAY_UNAVAILABLE",
    });
    await onAlarm(alice.ctx, POLL_ALARM); // a poll with the relay down does not throw

    net.up = true;
    await onAlarm(alice.ctx, POLL_ALARM);
    t = await alice.call({ type: "thread", peer: "bob@127.0.0.1:9101" });
    expect(t.messages.map((m) => [m.text, m.state])).toEqual([["queued one", "sent"]]);
    const got = await bob.call({ type: "fetch" });
    expect(got.received).toEqual(["alice@127.0.0.1:9101"]);
  });

  it("a name the relay refuses leaves no account behind", async () => {
    const { fetch } = await relay();
    await user("carol", fetch);
    const w = await worker({ fetch });
    const r = await w.ask({
      type: "createAccount",
      relay: URL_,
      name: "carol",
      password: PASSWORD,
    });
    expect(r).toMatchObject({ ok: false, error: { code: "RELAY_REJECTED" } });
    expect(await w.call({ type: "state" })).toEqual({ status: "none" });
    expect(await w.storage.list("")).toEqual([]);
  });
});
