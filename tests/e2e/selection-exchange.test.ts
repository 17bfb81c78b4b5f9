/**
 * A selection encrypted on one person's page is read on the other's (issue 4, "Tests"):
 * Alice and Bob each have their own Chromium profile with the extension loaded, and a real
 * relay process on 127.0.0.1. They create accounts through the popup and add each other
 * by address. On a test page Alice selects text in a textarea and runs "Encrypt selection
 * for…", picking Bob in the chooser: the textarea then holds armor, not the text. Bob opens
 * a page showing that armor, clicks the in-page Decrypt control, and the extension's frame
 * shows the text, from alice. The host page's DOM never holds the plaintext: its own
 * MutationObserver checks after every change, and the test checks again at the end.
 *
 * As in tests/e2e/page.test.ts, "Encrypt selection for…" is the `contextMenus.onClicked`
 * event the browser sends, dispatched in Alice's worker; a dispatched event does not grant
 * `activeTab`, so Alice's copy of the build grants 127.0.0.1 in its manifest instead. Bob
 * runs the normal build: 127.0.0.1 pages are watched by default.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAll, type RelayProcess } from "../integration/helpers.js";
import { extensionDist } from "./build.js";
import { addContact, createAccount, QUICK, SLOW, startTestRelay } from "./flows.js";
import { browserMissing, type ExtensionBrowser, launchExtension } from "./harness.js";
import { clickControl, escapeHtml, hostGrantedBuild, menuClick } from "./page-actions.js";

const SECRET = "the spare key is under the third flowerpot";
const BEGIN = "-----BEGIN SECURE-MSG MESSAGE-----\n";
const END = "-----END SECURE-MSG MESSAGE-----\n";

/** Alice's page: a message being written in a textarea. */
const FORM =
  "<!doctype html><title>compose</title><body>" +
  `<textarea id="ta" rows="14" cols="70">Hi Bob, ${SECRET}. See you</textarea></body>`;

/**
 * Bob's page: the armor in a <pre>. The page's own script records every time its DOM holds
 * the plaintext, from load on: in the markup or rendered text as it stands, and in every
 * node, text or attribute value a change put there, even one undone before it could look
 * (the old values of changed texts and attributes are checked too).
 */
function readerPage(block: string): string {
  const watch = `
    window.leaks = [];
    const has = (s) => typeof s === "string" && s.includes(secret);
    const check = (why) => {
      const d = document.documentElement;
      if (has(d.outerHTML) || has(d.innerText)) leaks.push(why);
    };
    new MutationObserver((records) => {
      for (const r of records) {
        if (has(r.oldValue)) leaks.push(r.type + " (old value)");
        if (r.type === "characterData" && has(r.target.data)) leaks.push("characterData");
        if (r.type === "attributes" && has(r.target.getAttribute(r.attributeName))) {
          leaks.push("attribute " + r.attributeName);
        }
        for (const n of r.addedNodes) {
          if (has(n.textContent) || has(n.outerHTML)) leaks.push("added " + n.nodeName);
        }
      }
      check("after a change");
    }).observe(document, {
      subtree: true, childList: true, attributes: true, characterData: true,
      attributeOldValue: true, characterDataOldValue: true,
    });
    check("load");`;
  return (
    "<!doctype html><title>inbox</title><body><h1>Mail from Alice</h1>" +
    `<pre id="mail">${escapeHtml(block)}</pre>` +
    // The script holds the plaintext only encoded, so the page's own markup does not.
    `<script>const secret = atob("${btoa(SECRET)}");${watch}</script></body>`
  );
}

/** "Encrypt selection for…" in `page`; resolves with the chooser window the worker opens. */
async function openChooser(browser: ExtensionBrowser, page: Page): Promise<Page> {
  const next = browser.context.waitForEvent("page", {
    predicate: (p) => p.url().includes("extension/frames/chooser.html"),
    timeout: QUICK,
  });
  await menuClick(browser, page, "encrypt-selection");
  return next;
}

/** Picks the contact in the chooser, which closes once the armor is in the page. */
async function pick(win: Page, contact: RegExp): Promise<void> {
  const closed = win.waitForEvent("close", { timeout: QUICK });
  await win
    .getByRole("button", { name: contact })
    .click({ timeout: QUICK })
    .catch((e: unknown) => {
      if (!win.isClosed()) throw e; // closed during the click: done already
    });
  await closed.catch(async (e: unknown) => {
    // biome-ignore lint/performance/useDomNodeTextContent: what the user sees
    const shown = await win.locator("body").innerText();
    throw new Error(`the chooser stayed open, showing: ${shown}`, { cause: e });
  });
}

describe.skipIf(browserMissing())("a selection from alice's page, read on bob's (Chromium)", () => {
  let root: string;
  let relay: RelayProcess;
  let alice: ExtensionBrowser;
  let bob: ExtensionBrowser;
  let server: Server;
  let base = "";
  const pages = new Map<string, string>();

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "secure-msg-e2e-selection-"));
    relay = await startTestRelay(join(root, "relay"));
    alice = await launchExtension(
      await hostGrantedBuild(join(root, "alice-build"), ["http://127.0.0.1/*"]),
    );
    bob = await launchExtension(extensionDist("chrome"));
    server = createServer((req, res) => {
      const html = pages.get(req.url ?? "");
      res.writeHead(html ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
      res.end(html ?? "not found");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    pages.set("/compose", FORM);
  }, SLOW);

  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
    await relay?.stop();
    killAll();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it(
    "alice encrypts a textarea selection for bob; bob decrypts it in the page's frame",
    async () => {
      const aliceAddress = `alice@${relay.host}`;
      const bobAddress = `bob@${relay.host}`;

      // Accounts at the relay, and each other as contacts, through the popup.
      const a = await alice.openPopup();
      const b = await bob.openPopup();
      await createAccount(a, { relay: relay.url, name: "alice", password: "alice's password" });
      await createAccount(b, { relay: relay.url, name: "bob", password: "bob's password" });
      const seenByAlice = await addContact(a, bobAddress);
      expect(await addContact(b, aliceAddress)).toBe(seenByAlice);
      await a.close();
      await b.close();

      // Alice selects the secret in her textarea and encrypts it for bob.
      const form = await alice.context.newPage();
      await form.goto(`${base}/compose`);
      await form.evaluate((secret) => {
        const ta = document.getElementById("ta") as HTMLTextAreaElement;
        ta.focus();
        const at = ta.value.indexOf(secret);
        ta.setSelectionRange(at, at + secret.length);
      }, SECRET);
      const chooser = await openChooser(alice, form);
      await pick(chooser, new RegExp(bobAddress.replace(/[.]/g, "\\.")));

      const value = await form.locator("#ta").inputValue();
      expect(value).not.toContain(SECRET);
      expect(value.startsWith(`Hi Bob, ${BEGIN}`)).toBe(true);
      expect(value.endsWith(`${END}. See you`)).toBe(true);
      const block = value.slice("Hi Bob, ".length, -". See you".length);
      await form.close();

      // Bob opens a page showing that armor and clicks its Decrypt control.
      pages.set("/inbox", readerPage(block));
      const inbox = await bob.context.newPage();
      await inbox.goto(`${base}/inbox`);
      const control = inbox.locator("[data-secure-msg=decrypt]");
      await control.first().waitFor({ timeout: QUICK });
      expect(await control.count()).toBe(1);
      const frame = await clickControl(inbox, bob.extensionId, 0);
      await frame.locator(".text").waitFor({ timeout: QUICK });
      expect(await frame.locator(".text").textContent()).toBe(SECRET);
      expect(await frame.locator(".from").textContent()).toBe(`From ${aliceAddress}`);

      // The host page never held the plaintext: not in its markup, not in its text.
      expect(await inbox.content()).not.toContain(SECRET);
      const seen = await inbox.evaluate(() => ({
        html: document.documentElement.outerHTML,
        // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point
        text: document.documentElement.innerText,
        leaks: (window as unknown as { leaks: string[] }).leaks,
      }));
      expect(seen.html).toContain("-----BEGIN SECURE-MSG MESSAGE-----");
      expect(seen.html).not.toContain(SECRET);
      expect(seen.text).not.toContain(SECRET);
      expect(seen.leaks).toEqual([]);
      await inbox.close();
    },
    4 * SLOW,
  );
});
