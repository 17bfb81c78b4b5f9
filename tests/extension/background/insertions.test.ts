// @vitest-environment happy-dom
/**
 * "Encrypt selection for…" and "Secure compose…" in the worker (insertions.ts, menus.ts),
 * with the real page scripts (page-scripts.ts) run against a happy-dom document as the
 * tab, and the real session, handlers and trust checks. Only the browser is faked:
 * `executeScript` calls the injected function in this document, as the isolated world
 * would. Bob is a protocol Client in Node who decrypts what lands in the page.
 */
import "fake-indexeddb/auto";
import { beforeEach, describe, expect, it } from "vitest";
import {
  INSERTION_TTL_MS,
  Insertions,
  type PageApi,
} from "../../../extension/background/insertions.js";
import {
  ACTIONS,
  createMenus,
  onCommand,
  onMenuClick,
} from "../../../extension/background/menus.js";
import { DEFAULT_RELAY } from "../../../extension/background/settings.js";
import { Client } from "../../../protocol/client.js";
import { MemoryStorage } from "../../../protocol/storage.js";
import { contentScript, frame, ORIGIN } from "./fake-browser.js";
import { kdf, PASSWORD, type Worker, worker } from "./worker.js";

const SECRET = "the vault code is 4-8-15-16";

/** The tab: this document; the windows opened; whether the page may be scripted. */
class FakePage implements PageApi {
  readonly windows_: string[] = [];
  readonly closed: number[] = [];
  scriptable = true;
  constructor(readonly storage: PageApi["storage"]) {}
  readonly runtime = { getURL: (p: string) => `${ORIGIN}${p}` };
  readonly scripting: PageApi["scripting"] = {
    executeScript: async ({ func, args }) => {
      if (!this.scriptable) throw new Error("Cannot access contents of the page.");
      // Through a JSON round trip, as results cross from the page in a browser.
      return [{ frameId: 0, result: JSON.parse(JSON.stringify(func(...args) ?? null)) }];
    },
  };
  readonly windows = {
    create: async (o: { url: string }) => {
      this.windows_.push(o.url);
      return { id: this.windows_.length };
    },
    remove: async (id: number) => {
      this.closed.push(id);
    },
  };
  /** The fragment of the last window opened: an insertion id or `problem=CODE`. */
  lastWindow(): string {
    return this.windows_.at(-1)?.split("#")[1] ?? "";
  }
}

let now = 1_000_000;
let w: Worker;
let page: FakePage;
let bob: Client;

beforeEach(async () => {
  document.body.innerHTML =
    `<textarea id="ta">Dear Bob, ${SECRET} Regards</textarea>` +
    '<input id="line" value="short secret"><input id="pw" type="password" value="x">' +
    '<div id="rich" contenteditable="true">Hello, rich secret here.</div><p id="plain">text</p>';
  w = await worker();
  await w.call({ type: "createAccount", relay: DEFAULT_RELAY, name: "alice", password: PASSWORD });
  page = new FakePage(w.browser.storage);
  w.ctx.insertions = new Insertions(page, w.session, () => now);
  bob = await Client.create(
    new MemoryStorage(),
    { name: "bob", password: "bob's password", relay: "" },
    { kdf },
  );
  await bob.addContact(await w.call({ type: "exportBundle" }));
  await w.call({ type: "addContact", bundle: bob.exportBundle() });
});

function select(id: string, from: number, to: number): HTMLTextAreaElement | HTMLInputElement {
  const el = document.getElementById(id) as HTMLTextAreaElement;
  el.focus();
  el.setSelectionRange(from, to);
  return el;
}

function selectSecret(): HTMLTextAreaElement {
  const at = `Dear Bob, `.length;
  return select("ta", at, at + SECRET.length) as HTMLTextAreaElement;
}

async function start(mode: "selection" | "compose"): Promise<string> {
  await w.ctx.insertions?.start(mode, 7, 0);
  return page.lastWindow();
}

describe("Encrypt selection for…", () => {
  it("replaces exactly the selection with armor that bob decrypts", async () => {
    const ta = selectSecret();
    const id = await start("selection");
    expect(page.windows_.at(-1)).toBe(`${ORIGIN}extension/frames/chooser.html#${id}`);
    expect(await w.call({ type: "insertion", id }, frame)).toEqual({
      mode: "selection",
      singleLine: false,
      site: location.origin,
      text: SECRET,
    });
    // What waits in storage.session names the field's place, never its text.
    expect(JSON.stringify([...w.browser.storage.session.data])).not.toContain("vault");

    const events: string[] = [];
    ta.addEventListener("input", (e) => events.push((e as InputEvent).inputType));
    expect(await w.call({ type: "encryptSelection", id, to: "bob" }, frame)).toBe(null);
    expect(ta.value).not.toContain(SECRET);
    expect(ta.value).toMatch(/^Dear Bob, -----BEGIN SECURE-MSG MESSAGE-----\n[\s\S]+\n Regards$/);
    expect((await bob.decrypt(ta.value.slice(10, -8))).text).toBe(SECRET);
    expect(events).toEqual(["insertReplacementText"]);
    expect(page.closed).toEqual([1]);
    // Done: the id answers no more.
    const again = await w.ask({ type: "encryptSelection", id, to: "bob" }, frame);
    expect(again).toMatchObject({ ok: false, error: { code: "UNKNOWN_INSERTION" } });
  });

  it("uses the compact form in a single-line input", async () => {
    const input = select("line", 0, "short secret".length);
    const id = await start("selection");
    await w.call({ type: "encryptSelection", id, to: "bob" }, frame);
    expect(input.value).toMatch(/^SECURE-MSG:MESSAGE:[A-Za-z0-9_-]+$/);
    expect((await bob.decrypt(input.value)).text).toBe("short secret");
  });

  it("tells the user why it cannot start, in the chooser window", async () => {
    (document.getElementById("pw") as HTMLInputElement).focus();
    expect(await start("selection")).toBe("problem=NO_FIELD");
    select("ta", 3, 3);
    expect(await start("selection")).toBe("problem=NO_SELECTION");
    page.scriptable = false;
    expect(await start("selection")).toBe("problem=NO_ACCESS");
  });

  it("writes nothing when the page changed the field meanwhile", async () => {
    const ta = selectSecret();
    const id = await start("selection");
    // The page rewrites the selected text before the user picks the contact.
    const rewritten = `Dear Bob, ${"x".repeat(SECRET.length)} Regards`;
    ta.value = rewritten;
    const r = await w.ask({ type: "encryptSelection", id, to: "bob" }, frame);
    expect(r).toMatchObject({ ok: false, error: { code: "PAGE_CHANGED" } });
    expect(ta.value).toBe(rewritten);
    // Nothing is left to finish.
    const again = await w.ask({ type: "insertion", id }, frame);
    expect(again).toMatchObject({ ok: false, error: { code: "UNKNOWN_INSERTION" } });
  });

  it("shows the chooser exactly the text it encrypts, whatever the page drew", async () => {
    // The page decides what its field holds (here it swapped the text under the user's
    // selection, keeping it looking the same elsewhere): the chooser, which the page cannot
    // touch, shows what will be signed in the user's name, and that is what is encrypted.
    const ta = select("ta", 0, 0);
    ta.value = "Pay mallory 1000 EUR";
    ta.setSelectionRange(0, ta.value.length);
    const id = await start("selection");
    const shown = (await w.call({ type: "insertion", id }, frame)).text;
    expect(shown).toBe("Pay mallory 1000 EUR");
    await w.call({ type: "encryptSelection", id, to: "bob" }, frame);
    expect((await bob.decrypt(ta.value)).text).toBe(shown);
  });

  it("tells the chooser when the page changed the selection before it was shown", async () => {
    const ta = selectSecret();
    const id = await start("selection");
    ta.value = ta.value.replace(SECRET, "something else entirely....");
    const r = await w.ask({ type: "insertion", id }, frame);
    expect(r).toMatchObject({ ok: false, error: { code: "PAGE_CHANGED" } });
    const again = await w.ask({ type: "encryptSelection", id, to: "bob" }, frame);
    expect(again).toMatchObject({ ok: false, error: { code: "UNKNOWN_INSERTION" } });
  });

  it("keeps the insertion while locked, and finishes after unlocking", async () => {
    const ta = selectSecret();
    const id = await start("selection");
    await w.call({ type: "lock" });
    const r = await w.ask({ type: "encryptSelection", id, to: "bob" }, frame);
    expect(r).toMatchObject({ ok: false, error: { code: "LOCKED" } });
    expect(ta.value).toContain(SECRET);
    await w.call({ type: "unlock", password: PASSWORD });
    await w.call({ type: "encryptSelection", id, to: "bob" }, frame);
    expect(ta.value).not.toContain(SECRET);
  });

  it("keeps the insertion for an unknown contact, so the user can pick another", async () => {
    selectSecret();
    const id = await start("selection");
    const r = await w.ask({ type: "encryptSelection", id, to: "mallory" }, frame);
    expect(r).toMatchObject({ ok: false, error: { code: "UNKNOWN_CONTACT" } });
    expect(await w.call({ type: "encryptSelection", id, to: "bob" }, frame)).toBe(null);
  });

  it("refuses a contact whose changed key awaits review, as Send does", async () => {
    const ta = selectSecret();
    const id = await start("selection");
    const [contact] = await w.call({ type: "contacts" });
    await w.session.keyChanges().flag(contact?.address ?? "");
    const r = await w.ask({ type: "encryptSelection", id, to: "bob" }, frame);
    expect(r).toMatchObject({ ok: false, error: { code: "IDENTITY_CHANGED" } });
    expect(ta.value).toContain(SECRET);
  });

  it("forgets insertions after their time, and ids never seen", async () => {
    selectSecret();
    const id = await start("selection");
    now += INSERTION_TTL_MS + 1;
    for (const bad of [id, "AAAAAAAAAAAAAAAAAAAAAA", "__proto__", "constructor"]) {
      const r = await w.ask({ type: "insertion", id: bad }, frame);
      expect(r).toMatchObject({ ok: false, error: { code: "UNKNOWN_INSERTION" } });
    }
  });

  it("answers nothing about insertions to a content script", async () => {
    selectSecret();
    const id = await start("selection");
    for (const req of [
      { type: "insertion", id },
      { type: "encryptSelection", id, to: "bob" },
      { type: "composeInsert", id, to: "bob", text: "x" },
      { type: "cancelInsertion", id },
    ] as const) {
      const r = await w.ask(req, contentScript);
      expect(r).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    }
    expect((document.getElementById("ta") as HTMLTextAreaElement).value).toContain(SECRET);
  });
});

describe("Secure compose…", () => {
  it("opens the compose frame below the field and inserts only the armor", async () => {
    const ta = select("ta", 0, 0);
    ta.value = "";
    await w.ctx.insertions?.start("compose", 7, 0);
    const host = document.querySelector("[data-secure-msg=compose]");
    expect(host).not.toBe(null);
    // The frame is in a closed shadow root: the page cannot reach it or its URL.
    expect(host?.shadowRoot).toBe(null);
    expect(page.windows_).toEqual([]);
    const stored = w.browser.storage.session.data.get("insertions") as Record<string, unknown>;
    const id = Object.keys(stored)[0] ?? "";
    expect(await w.call({ type: "insertion", id }, frame)).toMatchObject({ mode: "compose" });

    await w.call({ type: "composeInsert", id, to: "bob", text: "typed in the frame" }, frame);
    expect((await bob.decrypt(ta.value)).text).toBe("typed in the frame");
    expect(document.querySelector("[data-secure-msg=compose]")).toBe(null);
  });

  it("Cancel removes the frame and leaves the field alone", async () => {
    const ta = select("ta", 0, 0);
    await w.ctx.insertions?.start("compose", 7, 0);
    const stored = w.browser.storage.session.data.get("insertions") as Record<string, unknown>;
    const id = Object.keys(stored)[0] ?? "";
    await w.call({ type: "cancelInsertion", id }, frame);
    expect(document.querySelector("[data-secure-msg=compose]")).toBe(null);
    expect(ta.value).toBe(`Dear Bob, ${SECRET} Regards`);
    const r = await w.ask({ type: "composeInsert", id, to: "bob", text: "late" }, frame);
    expect(r).toMatchObject({ ok: false, error: { code: "UNKNOWN_INSERTION" } });
  });

  it("works in a contenteditable field", async () => {
    const rich = document.getElementById("rich") as HTMLElement;
    rich.focus();
    await w.ctx.insertions?.start("compose", 7, 0);
    const stored = w.browser.storage.session.data.get("insertions") as Record<string, unknown>;
    const id = Object.keys(stored)[0] ?? "";
    await w.call({ type: "composeInsert", id, to: "bob", text: "rich text" }, frame);
    // One text node per armor line, separated by <br>, after the existing text.
    const lines = Array.from(rich.childNodes)
      .filter((n) => n.nodeType === 3)
      .map((n) => n.textContent);
    expect(lines[0]).toBe("Hello, rich secret here.");
    expect((await bob.decrypt(lines.slice(1).join("\n"))).text).toBe("rich text");
  });
});

describe("the keyboard command", () => {
  it("marks the field in the frame that has focus", async () => {
    const ta = selectSecret();
    await w.ctx.insertions?.start("selection", 7); // no frame: a command
    const id = page.lastWindow();
    expect(document.hasFocus()).toBe(true);
    await w.call({ type: "encryptSelection", id, to: "bob" }, frame);
    expect(ta.value).toContain("-----BEGIN SECURE-MSG MESSAGE-----");
  });
});

describe("menus and commands", () => {
  it("creates both items on editable fields only", async () => {
    const made: unknown[] = [];
    await createMenus({ removeAll: async () => {}, create: (item) => made.push(item) });
    expect(made).toEqual([
      { id: "encrypt-selection", title: "Encrypt selection for…", contexts: ["editable"] },
      { id: "secure-compose", title: "Secure compose…", contexts: ["editable"] },
    ]);
    expect(Object.keys(ACTIONS)).toEqual(["encrypt-selection", "secure-compose"]);
  });

  it("starts the matching insertion from a click or a command, and ignores others", async () => {
    const started: unknown[][] = [];
    const fake = { start: async (...a: unknown[]) => void started.push(a) } as never;
    await onMenuClick(fake, { menuItemId: "encrypt-selection", frameId: 3 }, { id: 9 });
    await onMenuClick(fake, { menuItemId: "other" }, { id: 9 });
    await onMenuClick(fake, { menuItemId: "secure-compose" }, {});
    await onCommand(fake, "secure-compose", { id: 9 });
    await onCommand(fake, "toString", { id: 9 });
    expect(started).toEqual([
      ["selection", 9, 3],
      ["compose", 9],
    ]);
  });
});
