/**
 * The wiring in main.ts, loaded as the browser loads it: with a global `chrome` (a fake of
 * the APIs used, with event registries) and IndexedDB (fake-indexeddb).
 */
import "fake-indexeddb/auto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { REQUEST_TYPES } from "../../../extension/shared/messages.js";
import { contentScript, FakeBrowser, popup } from "./fake-browser.js";

const PASSWORD = "correct horse battery";

type Listener = (...args: never[]) => unknown;
function event() {
  const listeners: Listener[] = [];
  return { listeners, addListener: (l: Listener) => listeners.push(l) };
}

const browser = new FakeBrowser();
const onMessage = event();
const onAlarm = event();
const onInstalled = event();
const onStartup = event();
const onClicked = event();
const onCommand = event();
const onAdded = event();
const onRemoved = event();
const menus: { id: string; title: string; contexts: string[] }[] = [];
const fetchThis: unknown[] = [];
const evals: unknown[][] = [];

beforeAll(async () => {
  vi.stubGlobal("chrome", {
    ...browser,
    storage: browser.storage,
    runtime: { ...browser.runtime, onMessage, onInstalled, onStartup },
    alarms: { ...browser.alarms, onAlarm },
    contextMenus: {
      onClicked,
      removeAll: async () => {
        menus.length = 0;
      },
      create: (m: (typeof menus)[number]) => menus.push(m),
    },
    commands: { onCommand },
    permissions: { onAdded, onRemoved, contains: async () => false },
    scripting: {
      getRegisteredContentScripts: async () => [],
      registerContentScripts: async () => undefined,
      unregisterContentScripts: async () => undefined,
    },
  });
  // A browser's fetch throws unless it is called on the global object.
  vi.stubGlobal("fetch", function (this: unknown) {
    fetchThis.push(this);
    if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
    return Promise.reject(new TypeError("fetch failed"));
  });
  // The CSP forbids eval: nothing may even try `new Function` while the worker loads.
  const F = globalThis.Function;
  vi.stubGlobal(
    "Function",
    new Proxy(F, {
      construct(target, args) {
        evals.push(args);
        return Reflect.construct(target, args);
      },
    }),
  );
  await import("../../../extension/background/main.js");
  vi.stubGlobal("Function", F);
});

afterAll(() => {
  vi.unstubAllGlobals();
});

/** Delivers a message as runtime.onMessage does; resolves with what the worker answered. */
function send(
  message: unknown,
  sender: object = popup,
): { handled: unknown; answer: Promise<unknown> } {
  let handled: unknown;
  const answer = new Promise((resolve) => {
    handled = (
      onMessage.listeners[0] as (m: unknown, s: object, r: (x: unknown) => void) => unknown
    )(message, sender, resolve);
  });
  return { handled, answer };
}

describe("main.ts", () => {
  it("registers its listeners at the top level", () => {
    expect(onMessage.listeners).toHaveLength(1);
    expect(onAlarm.listeners).toHaveLength(1);
    expect(onInstalled.listeners).toHaveLength(1);
    expect(onStartup.listeners).toHaveLength(1);
    expect(onClicked.listeners).toHaveLength(1);
    expect(onCommand.listeners).toHaveLength(1);
    expect(onAdded.listeners).toHaveLength(1);
    expect(onRemoved.listeners).toHaveLength(1);
    expect(browser.accessLevel).toBe("TRUSTED_CONTEXTS");
    expect(evals).toEqual([]);
  });

  it("sets up the poll alarm on install", async () => {
    (onInstalled.listeners[0] as () => void)();
    await vi.waitFor(() => expect(browser.alarmsSet.get("poll")).toEqual({ periodInMinutes: 1 }));
  });

  it("creates the page menu items on install, for editable fields only", async () => {
    (onInstalled.listeners[0] as () => void)();
    await vi.waitFor(() => expect(menus.length).toBeGreaterThan(0));
    expect(menus.map((m) => m.title)).toContain("Encrypt selection for…");
    for (const m of menus) expect(m.contexts).toEqual(["editable"]);
  });

  it("answers our requests asynchronously, and leaves other messages alone", async () => {
    expect(send({ type: "somebody-else" }).handled).toBe(false);
    expect(send("text").handled).toBe(false);
    const r = send({ type: "state" });
    expect(r.handled).toBe(true);
    expect(await r.answer).toEqual({ ok: true, value: { status: "none" } });
    expect(REQUEST_TYPES).toContain("state");
  });

  it("creates an account with the default Argon2id, calling fetch on the global", async () => {
    const r = send({
      type: "createAccount",
      relay: "http://127.0.0.1:8787",
      name: "zoe",
      password: PASSWORD,
    });
    expect(await r.answer).toMatchObject({
      ok: true,
      value: { status: "unlocked", registered: false },
    });
    expect(fetchThis.length).toBeGreaterThan(0);
    expect(fetchThis.every((t) => t === undefined || t === globalThis)).toBe(true);
    expect(await send({ type: "contacts" }, contentScript).answer).toMatchObject({
      ok: false,
      error: { code: "FORBIDDEN" },
    });
  });

  it("locks when the auto-lock alarm fires", async () => {
    (onAlarm.listeners[0] as (a: { name: string }) => void)({ name: "auto-lock" });
    await vi.waitFor(async () =>
      expect(await send({ type: "state" }).answer).toEqual({
        ok: true,
        value: { status: "locked" },
      }),
    );
  });
});
