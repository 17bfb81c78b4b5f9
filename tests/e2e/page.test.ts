/**
 * The page integration (issue 4, "On web pages") in Chromium: "Encrypt selection for…" in
 * a textarea, a single-line input and a contenteditable; unlocking first from the chooser;
 * secure compose, where the page never sees the text; Decrypt controls on blocks split
 * across elements; and site access from the popup's settings. The contact is bob, a
 * protocol Client in Node, who decrypts what alice's extension put in the page.
 *
 * Playwright cannot click a context-menu item, so the test dispatches the same
 * `contextMenus.onClicked` event the browser sends, in the worker. A real click also
 * grants `activeTab` for the tab; a dispatched event does not, so this test's copy of the
 * build grants the test pages' hosts in its manifest instead. Nothing else differs.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Frame, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { armor } from "../../protocol/armor.js";
import { Client } from "../../protocol/client.js";
import { MemoryStorage } from "../../protocol/storage.js";
import { browserMissing, type ExtensionBrowser, launchExtension } from "./harness.js";
import { clickControl, escapeHtml, hostGrantedBuild, menuClick } from "./page-actions.js";

const PASSWORD = "twelve chars";
const SECRET = "the vault code is 4-8-15-16";
const COMPOSED = "typed only in the compose frame";

/** The page records what its own scripts can see: input events and keys typed. */
const FORM =
  "<!doctype html><title>form</title><body>" +
  `<textarea id="ta" rows="12" cols="70">Dear Bob, ${SECRET} Regards</textarea>` +
  '<input id="line" value="short secret">' +
  '<div id="rich" contenteditable="true">Hello <b>Bob</b>, rich secret here.</div>' +
  "<script>window.seen = { inputs: [], keys: '' };" +
  "document.addEventListener('input', (e) => seen.inputs.push(e.target.id + ':' + e.inputType), true);" +
  "document.addEventListener('keydown', (e) => { seen.keys += e.key; }, true);</script></body>";

describe.skipIf(browserMissing())("page integration (Chromium)", () => {
  let dist = "";
  let browser: ExtensionBrowser;
  let bob: Client;
  /** One server per loopback host: 127.0.0.1 (watched by default) and 127.0.0.2 (a site). */
  const servers = new Map<string, Server>();
  const ports = new Map<string, number>();
  const pages = new Map<string, string>();

  async function call<T>(req: object): Promise<T> {
    const popup = await browser.openPopup();
    try {
      const r = (await popup.evaluate((m) => chrome.runtime.sendMessage(m), req)) as {
        ok: boolean;
        value: T;
        error?: { code: string };
      };
      if (!r.ok) throw new Error(`request failed: ${r.error?.code}`);
      return r.value;
    } finally {
      await popup.close();
    }
  }

  async function open(path: string, host = "127.0.0.1"): Promise<Page> {
    const page = await browser.context.newPage();
    await page.goto(`http://${host}:${ports.get(host)}${path}`);
    return page;
  }

  /** What the browser does on the keyboard command (Ctrl+Shift+E) in `page`. */
  async function command(page: Page, name: string): Promise<void> {
    await page.bringToFront();
    await browser.worker.evaluate(
      async ({ url, name }) => {
        const tab = (await chrome.tabs.query({})).find((t) => t.url === url);
        if (!tab) throw new Error(`no tab at ${url}`);
        (chrome.commands.onCommand as unknown as { dispatch(...a: unknown[]): void }).dispatch(
          name,
          tab,
        );
      },
      { url: page.url(), name },
    );
  }

  /** "Encrypt selection for…" in `page` (menu or command); the worker opens the chooser. */
  async function openChooser(page: Page, by: "menu" | "command" = "menu"): Promise<Page> {
    const next = browser.context.waitForEvent("page", {
      predicate: (p) => p.url().includes("extension/frames/chooser.html"),
      timeout: 30_000,
    });
    if (by === "menu") await menuClick(browser, page, "encrypt-selection");
    else await command(page, "encrypt-selection");
    return next;
  }

  /** Picks the contact in the chooser, which closes once the armor is in the page. */
  async function pick(win: Page, contact: RegExp): Promise<void> {
    const closed = win.waitForEvent("close", { timeout: 30_000 });
    await win
      .getByRole("button", { name: contact })
      .click({ timeout: 30_000 })
      .catch((e: unknown) => {
        if (!win.isClosed()) throw e; // closed during the click: done already
      });
    await closed.catch(async (e: unknown) => {
      // biome-ignore lint/performance/useDomNodeTextContent: what the user sees
      const shown = await win.locator("body").innerText();
      throw new Error(`the chooser stayed open, showing: ${shown}`, { cause: e });
    });
  }

  async function encryptFor(page: Page, contact: RegExp): Promise<void> {
    await pick(await openChooser(page), contact);
  }

  async function frameOf(page: Page, path: string, n = 1, tries = 100): Promise<Frame> {
    const prefix = browser.url(path);
    for (let t = 0; t < tries; t++) {
      const f = page.frames().filter((x) => x.url().startsWith(prefix));
      if (f.length >= n) return f[n - 1]!;
      await page.waitForTimeout(100);
    }
    throw new Error(`no frame ${path}`);
  }

  beforeAll(async () => {
    dist = await hostGrantedBuild(await mkdtemp(join(tmpdir(), "secure-msg-page-")), [
      "http://127.0.0.1/*",
      "http://127.0.0.2/*",
    ]);
    browser = await launchExtension(dist);
    const popup = await browser.openPopup();
    await popup.getByRole("heading", { name: "Create your account" }).waitFor({ timeout: 15_000 });
    await popup.getByLabel("Relay URL").fill("http://127.0.0.1:1");
    await popup.getByLabel("Name", { exact: true }).fill("alice");
    await popup.getByLabel("Password", { exact: true }).fill(PASSWORD);
    await popup.getByLabel("Confirm password").fill(PASSWORD);
    await popup.getByRole("button", { name: "Create account" }).click();
    await popup.getByRole("heading", { name: "Inbox" }).waitFor({ timeout: 60_000 });
    await popup.close();

    bob = await Client.create(
      new MemoryStorage(),
      { name: "bob", password: "bob's password", relay: "" },
      { kdf: { m: 1024, t: 1, p: 1 } },
    );
    await bob.addContact(await call<string>({ type: "exportBundle" }));
    await call({ type: "addContact", bundle: bob.exportBundle() });

    // Blocks from bob, split across elements as webmail shows them.
    const lines = (block: string) => block.trimEnd().split("\n").map(escapeHtml);
    const byBr = armor("MESSAGE", (await bob.encrypt("alice", "split by br")).envelope);
    const byDiv = armor("MESSAGE", (await bob.encrypt("alice", "a div per line")).envelope);
    pages.set("/form", FORM);
    pages.set(
      "/split",
      "<!doctype html><title>split</title><body><h1>Mail</h1>" +
        `<div id="br">Hi Alice,<br>${lines(byBr).join("<br>\n")}<br>Bob</div>` +
        `<div id="div">${lines(byDiv)
          .map((l) => `<div>${l}</div><div><br></div>`)
          .join("")}</div></body>`,
    );
    pages.set(
      "/watched",
      `<!doctype html><title>watched</title><body><pre>${escapeHtml(byBr)}</pre></body>`,
    );
    for (const host of ["127.0.0.1", "127.0.0.2"]) {
      const server = createServer((req, res) => {
        const html = pages.get(req.url ?? "");
        res.writeHead(html ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
        res.end(html ?? "not found");
      });
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      servers.set(host, server);
      ports.set(host, (server.address() as AddressInfo).port);
    }
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    for (const server of servers.values()) await new Promise((resolve) => server.close(resolve));
    if (dist) await rm(dist, { recursive: true, force: true });
  });

  it("replaces a textarea selection with armor that bob decrypts", async () => {
    const page = await open("/form");
    await page.evaluate((secret) => {
      const ta = document.getElementById("ta") as HTMLTextAreaElement;
      ta.focus();
      const at = ta.value.indexOf(secret);
      ta.setSelectionRange(at, at + secret.length);
    }, SECRET);
    await encryptFor(page, /bob/);

    const value = await page.locator("#ta").inputValue();
    expect(value).not.toContain(SECRET);
    expect(value.startsWith("Dear Bob, -----BEGIN SECURE-MSG MESSAGE-----\n")).toBe(true);
    expect(value.endsWith("-----END SECURE-MSG MESSAGE-----\n Regards")).toBe(true);
    const block = value.slice("Dear Bob, ".length, -" Regards".length);
    expect((await bob.decrypt(block)).text).toBe(SECRET);
    // The page's scripts are told, as frameworks expect.
    expect(
      await page.evaluate(() => (window as unknown as { seen: { inputs: string[] } }).seen.inputs),
    ).toEqual(["ta:insertReplacementText"]);
    await page.close();
  }, 60_000);

  it("puts the compact form in a single-line input", async () => {
    const page = await open("/form");
    await page.evaluate(() => {
      const input = document.getElementById("line") as HTMLInputElement;
      input.focus();
      input.select();
    });
    await encryptFor(page, /bob/);
    const value = await page.locator("#line").inputValue();
    expect(value).toMatch(/^SECURE-MSG:MESSAGE:[A-Za-z0-9_-]+$/);
    expect((await bob.decrypt(value)).text).toBe("short secret");
    await page.close();
  }, 60_000);

  it("does the same from the keyboard command, in the frame that has focus", async () => {
    const page = await open("/form");
    await page.locator("#line").click();
    await page.locator("#line").selectText();
    await pick(await openChooser(page, "command"), /bob/);
    const value = await page.locator("#line").inputValue();
    expect((await bob.decrypt(value)).text).toBe("short secret");
    await page.close();
  }, 60_000);

  it("replaces a contenteditable selection", async () => {
    const page = await open("/form");
    await page.evaluate(() => {
      const rich = document.getElementById("rich") as HTMLElement;
      rich.focus();
      const text = rich.lastChild as Text; // ", rich secret here."
      const range = document.createRange();
      range.setStart(text, 2);
      range.setEnd(text, 2 + "rich secret".length);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
    });
    await encryptFor(page, /bob/);
    // biome-ignore lint/performance/useDomNodeTextContent: the lines as the user sees them
    const shown = await page.locator("#rich").innerText();
    expect(shown).not.toContain("rich secret");
    const block = /-----BEGIN[\s\S]*?MESSAGE-----[\s\S]*?-----END SECURE-MSG MESSAGE-----/.exec(
      shown,
    )?.[0];
    expect(block).toBeDefined();
    expect((await bob.decrypt(block ?? "")).text).toBe("rich secret");
    await page.close();
  }, 60_000);

  it("asks to unlock first when locked, then encrypts", async () => {
    await call({ type: "lock" });
    const page = await open("/form");
    await page.evaluate(() => {
      const input = document.getElementById("line") as HTMLInputElement;
      input.focus();
      input.select();
    });
    const win = await openChooser(page);
    try {
      await win.getByLabel("Password").fill(PASSWORD);
      await win.getByRole("button", { name: "Unlock" }).click();
      await win.getByRole("button", { name: /bob/ }).waitFor({ timeout: 60_000 });
    } finally {
      // Whatever happened, the tests after this one need alice unlocked.
      await call({ type: "unlock", password: PASSWORD }).catch(() => undefined);
    }
    await pick(win, /bob/);
    expect(await page.locator("#line").inputValue()).toMatch(/^SECURE-MSG:MESSAGE:/);
    await page.close();
  }, 90_000);

  it("says so when nothing is selected, and changes nothing", async () => {
    const page = await open("/form");
    await page.evaluate(() => {
      const ta = document.getElementById("ta") as HTMLTextAreaElement;
      ta.focus();
      ta.setSelectionRange(3, 3);
    });
    const win = await openChooser(page);
    await win.getByText("Select the text to encrypt").waitFor({ timeout: 15_000 });
    await win.close();
    expect(await page.locator("#ta").inputValue()).toBe(`Dear Bob, ${SECRET} Regards`);
    await page.close();
  }, 60_000);

  it("secure compose: the page gets only the armor, never the text", async () => {
    const page = await open("/form");
    await page.evaluate(() => {
      const ta = document.getElementById("ta") as HTMLTextAreaElement;
      ta.value = "";
      ta.focus();
    });
    await menuClick(browser, page, "secure-compose");
    const frame = await frameOf(page, "extension/frames/compose.html");
    // Typed key by key: the page's own key listeners must see none of it.
    await frame.getByLabel("Message").pressSequentially(COMPOSED, { timeout: 15_000 });
    await frame.getByLabel("To").selectOption({ label: "bob" });
    await frame.getByRole("button", { name: "Encrypt and insert" }).click();
    await page.locator("[data-secure-msg=compose]").waitFor({ state: "detached", timeout: 15_000 });

    const value = await page.locator("#ta").inputValue();
    expect(value).toMatch(
      /^-----BEGIN SECURE-MSG MESSAGE-----\n[\s\S]+-----END SECURE-MSG MESSAGE-----\n$/,
    );
    expect((await bob.decrypt(value)).text).toBe(COMPOSED);
    expect(await page.content()).not.toContain(COMPOSED);
    const seen = await page.evaluate(() => (window as unknown as { seen: { keys: string } }).seen);
    expect(seen.keys).not.toContain("typed");
    await page.close();
  }, 60_000);

  it("adds Decrypt controls to blocks split by <br> and by <div> lines", async () => {
    const page = await open("/split");
    const controls = page.locator("[data-secure-msg=decrypt]");
    await controls.nth(1).waitFor({ timeout: 10_000 });
    expect(await controls.count()).toBe(2);
    for (const [n, text] of ["split by br", "a div per line"].entries()) {
      const frame = await clickControl(page, browser.extensionId, n);
      await frame.locator(".text").waitFor({ timeout: 15_000 });
      expect(await frame.locator(".text").textContent()).toBe(text);
      expect(await page.content()).not.toContain(text);
    }
    await page.close();
  }, 60_000);

  it("watches a site added in the settings, and stops when it is removed", async () => {
    const popup = await browser.openPopup();
    await popup
      .getByRole("navigation", { name: "Main" })
      .getByRole("button", { name: "Settings" })
      .click();
    await popup.getByLabel("Site", { exact: true }).fill("http://127.0.0.2");
    await popup.getByRole("button", { name: "Add site" }).click();
    await popup
      .getByRole("button", { name: "Remove http://127.0.0.2" })
      .waitFor({ timeout: 15_000 });
    expect(await popup.getByText("not allowed by the browser").count()).toBe(0);

    const watched = await open("/watched", "127.0.0.2");
    await watched.locator("[data-secure-msg=decrypt]").waitFor({ timeout: 10_000 });
    await watched.close();

    await popup.getByRole("button", { name: "Remove http://127.0.0.2" }).click();
    await popup
      .getByRole("button", { name: "Remove http://127.0.0.2" })
      .waitFor({ state: "detached" });
    const after = await open("/watched", "127.0.0.2");
    await after.waitForTimeout(1000);
    expect(await after.locator("[data-secure-msg=decrypt]").count()).toBe(0);
    await after.close();
    await popup.close();
  }, 60_000);

  it("shows in the chooser exactly the text it will encrypt", async () => {
    const page = await open("/form");
    await page.evaluate((secret) => {
      const ta = document.getElementById("ta") as HTMLTextAreaElement;
      ta.focus();
      const at = ta.value.indexOf(secret);
      ta.setSelectionRange(at, at + secret.length);
    }, SECRET);
    const win = await openChooser(page);
    await win.locator(".preview").waitFor({ timeout: 15_000 });
    expect(await win.locator(".preview").textContent()).toBe(SECRET);
    await pick(win, /bob/);
    const value = await page.locator("#ta").inputValue();
    expect((await bob.decrypt(value.slice("Dear Bob, ".length, -" Regards".length))).text).toBe(
      SECRET,
    );
    await page.close();
  }, 60_000);

  it("a page cannot embed the frames by their static URL (Chrome: use_dynamic_url)", async () => {
    const page = await open("/form");
    const urls = [
      "decrypt.html#SECURE-MSG:MESSAGE:AAAA",
      "compose.html#AAAAAAAAAAAAAAAAAAAAAA",
    ].map((p) => browser.url(`extension/frames/${p}`));
    await page.evaluate((list) => {
      for (const src of list) {
        const f = document.createElement("iframe");
        f.src = src;
        document.body.append(f);
      }
    }, urls);
    await page.waitForTimeout(1500);
    const prefix = browser.url("extension/frames/");
    expect(page.frames().filter((f) => f.url().startsWith(prefix))).toEqual([]);
    await page.close();
  }, 60_000);
});
