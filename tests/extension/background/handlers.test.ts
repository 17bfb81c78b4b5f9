import "fake-indexeddb/auto";
import { afterEach, describe, expect, it, vi } from "vitest";
import { dispatch } from "../../../extension/background/dispatch.js";
import { handlers } from "../../../extension/background/handlers.js";
import { DEFAULT_RELAY } from "../../../extension/background/settings.js";
import { ExtensionError } from "../../../extension/shared/errors.js";
import { REQUEST_TYPES, sendRequest } from "../../../extension/shared/messages.js";
import { dearmor, armor as toArmor } from "../../../protocol/armor.js";
import { ProtocolError } from "../../../protocol/errors.js";
import { contentScript, frame, popup } from "./fake-browser.js";
import { PASSWORD, type Worker, worker } from "./worker.js";

const code = (c: string) => (e: unknown) => ProtocolError.is(e, c as never);

async function account(name: string): Promise<Worker> {
  const w = await worker();
  await w.call({ type: "createAccount", relay: DEFAULT_RELAY, name, password: PASSWORD });
  return w;
}

/** Alice and Bob, each with their own worker, who imported each other's bundle (offline). */
async function pair() {
  const alice = await account("alice");
  const bob = await account("bob");
  await alice.call({ type: "addContact", bundle: await bob.call({ type: "exportBundle" }) });
  await bob.call({ type: "addContact", bundle: await alice.call({ type: "exportBundle" }) });
  return { alice, bob };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("the handler map", () => {
  it("has one handler per request type", () => {
    expect(Object.keys(handlers).sort()).toEqual([...REQUEST_TYPES].sort());
  });
});

describe("errors across the messaging boundary", () => {
  it("cross as { ok: false, error: { name, code, message } } without a stack", async () => {
    const w = await account("alice");
    await w.call({ type: "lock" });
    const r = await w.ask({ type: "unlock", password: "not the password" });
    expect(r).toEqual({
      ok: false,
      error: { name: "ProtocolError", code: "WRONG_PASSWORD", message: expect.any(String) },
    });
    expect(JSON.stringify(r)).not.toContain("not the password");
  });

  it("are rebuilt by sendRequest as ProtocolError with the crossed object as cause", async () => {
    const w = await account("alice");
    await w.call({ type: "lock" });
    vi.stubGlobal("chrome", {
      runtime: {
        sendMessage: async (m: unknown) =>
          JSON.parse(JSON.stringify(await dispatch(w.ctx, JSON.parse(JSON.stringify(m)), popup))),
      },
    });
    const e = await sendRequest({ type: "unlock", password: "not the password" }).catch(
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ProtocolError);
    expect(ProtocolError.is(e, "WRONG_PASSWORD")).toBe(true);
    expect((e as Error).cause).toEqual({
      name: "ProtocolError",
      code: "WRONG_PASSWORD",
      message: (e as Error).message,
    });
    expect((await sendRequest({ type: "unlock", password: PASSWORD })).name).toBe("alice");
    expect(await sendRequest({ type: "contacts" })).toEqual([]);
  });

  it("other failures become ExtensionError: forbidden, malformed, no receiver", async () => {
    const w = await account("alice");
    const forbidden = await w.call({ type: "thread", peer: "bob" }, contentScript).catch((x) => x);
    expect(ExtensionError.is(forbidden, "FORBIDDEN")).toBe(true);
    expect(forbidden).toBeInstanceOf(ExtensionError);
    expect(forbidden.cause).toMatchObject({ code: "FORBIDDEN" });

    const bad = await w.ask({ type: "send", to: "bob", text: 42 } as never);
    expect(bad).toEqual({
      ok: false,
      error: { name: "ExtensionError", code: "BAD_REQUEST", message: "malformed request: text" },
    });

    vi.stubGlobal("chrome", { runtime: { sendMessage: async () => undefined } });
    await expect(sendRequest({ type: "state" })).rejects.toSatisfy((x) =>
      ExtensionError.is(x, "NO_RECEIVER"),
    );
  });
});

describe("trust: the content script never receives plaintext or keys", () => {
  it("refuses decryptArmor, thread and the rest from a content script", async () => {
    const { alice, bob } = await pair();
    const armor = await alice.call({
      type: "encryptFor",
      to: "bob",
      text: "secret",
      compact: false,
    });
    for (const req of [
      { type: "decryptArmor", armor },
      { type: "thread", peer: "alice@127.0.0.1:8787" },
      { type: "conversations" },
      { type: "contacts" },
      { type: "exportBundle" },
      { type: "state" },
    ] as const) {
      const r = await bob.ask(req, contentScript);
      expect(r, req.type).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
      expect(JSON.stringify(r)).not.toContain("secret");
    }
    // A lookalike origin is not the extension's.
    const spoof = { ...popup, url: "chrome-extension://abcdefghijklmnopabcdefghijklmnopx/p.html" };
    expect(await bob.ask({ type: "decryptArmor", armor }, spoof)).toMatchObject({ ok: false });
    // The extension's own frame, even inside a tab, may decrypt.
    expect((await bob.call({ type: "decryptArmor", armor }, frame)).text).toBe("secret");
  });

  it("refuses encryptFor from a content script (a page must not send in the user's name)", async () => {
    const { alice } = await pair();
    await expect(
      alice.call(
        { type: "encryptFor", to: "bob", text: "selected text", compact: true },
        contentScript,
      ),
    ).rejects.toSatisfy((e) => ExtensionError.is(e, "FORBIDDEN"));
    const armor = await alice.call({
      type: "encryptFor",
      to: "bob",
      text: "selected text",
      compact: true,
    });
    expect(armor).toMatch(/^[^\s]+$/); // compact: one line, for single-line fields
    expect(armor).not.toContain("selected text");
  });
});

describe("two users through their handlers, offline", () => {
  it("exchange messages with encryptFor → decryptArmor in both directions", async () => {
    const { alice, bob } = await pair();
    const a1 = await alice.call({ type: "encryptFor", to: "bob", text: "hi bob", compact: false });
    expect(a1).toContain("-----BEGIN");
    const got = await bob.call({ type: "decryptArmor", armor: a1 }, frame);
    expect(got).toMatchObject({
      peer: "alice@127.0.0.1:8787",
      direction: "in",
      text: "hi bob",
      verified: false,
      again: false,
    });
    const b1 = await bob.call({ type: "encryptFor", to: "alice", text: "hi alice", compact: true });
    expect((await alice.call({ type: "decryptArmor", armor: b1 })).text).toBe("hi alice");

    // A second decryption (a reload) shows the stored message instead of failing.
    expect(await bob.call({ type: "decryptArmor", armor: a1 }, frame)).toMatchObject({
      text: "hi bob",
      again: true,
    });
    // Not for me, or tampered, stay errors with their codes.
    const eve = await account("eve");
    await expect(eve.call({ type: "decryptArmor", armor: a1 })).rejects.toSatisfy(
      code("NOT_FOR_ME"),
    );
    const bytes = dearmor(a1, "MESSAGE").data;
    bytes[bytes.length - 1]! ^= 1;
    const t = await bob
      .call({ type: "decryptArmor", armor: toArmor("MESSAGE", bytes) })
      .catch((e) => e);
    expect(ProtocolError.is(t, "TAMPERED")).toBe(true);

    // Conversations and unread counts; opening the thread marks it read.
    const [conv] = await bob.call({ type: "conversations" });
    expect(conv).toMatchObject({ peer: "alice@127.0.0.1:8787", unread: 1 });
    const thread = await bob.call({ type: "thread", peer: "alice@127.0.0.1:8787" });
    expect(thread.messages.map((m) => [m.direction, m.text])).toEqual([
      ["in", "hi bob"],
      ["out", "hi alice"],
    ]);
    expect((await bob.call({ type: "conversations" }))[0]?.unread).toBe(0);
  });

  it("shows contacts with fingerprint and safety number, and marks them verified", async () => {
    const { alice, bob } = await pair();
    const me = await bob.call({ type: "state" });
    const c = await alice.call({ type: "contact", address: "bob@127.0.0.1:8787" });
    expect(c.fingerprint).toBe(me.status === "unlocked" ? me.fingerprint : "");
    expect(c.verified).toBe(false);
    const theirs = await bob.call({ type: "contact", address: "alice@127.0.0.1:8787" });
    expect(theirs.safetyNumber).toBe(c.safetyNumber);
    expect(await alice.call({ type: "verifyContact", address: "bob" })).toMatchObject({
      verified: true,
    });
    await expect(alice.call({ type: "addContact" })).rejects.toSatisfy(code("INVALID_ARGUMENT"));
    await expect(alice.call({ type: "contact", address: "zed" })).rejects.toSatisfy(
      code("UNKNOWN_CONTACT"),
    );
  });
});
