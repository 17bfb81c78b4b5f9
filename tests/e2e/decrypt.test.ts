/**
 * The in-page Decrypt control (issue 4, "On web pages"): a message armored for alice by a
 * second identity (bob, a protocol Client in Node) sits on a test page on 127.0.0.1; the
 * content script adds a Decrypt control, the decrypt frame shows the plaintext, and the
 * host page's DOM never holds it. A tampered copy shows a failure, and no plaintext.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { armor } from "../../protocol/armor.js";
import { Client } from "../../protocol/client.js";
import { MemoryStorage } from "../../protocol/storage.js";
import { extensionDist } from "./build.js";
import { browserMissing, type ExtensionBrowser, launchExtension } from "./harness.js";
import { clickControl, escapeHtml } from "./page-actions.js";

const SECRET = "meet me at the old mill at 7, bring the blue folder";

/** Changes one base64 character in the middle of the body, keeping the armor well-formed. */
function tamper(block: string): string {
  const lines = block.split("\n");
  const i = Math.floor(lines.length / 2);
  const line = lines[i]!;
  const j = Math.floor(line.length / 2);
  const c = line[j] === "A" ? "B" : "A";
  lines[i] = line.slice(0, j) + c + line.slice(j + 1);
  return lines.join("\n");
}

describe.skipIf(browserMissing())("in-page Decrypt control (Chromium)", () => {
  let browser: ExtensionBrowser;
  let server: Server;
  let pageUrl = "";
  let good = "";
  let bad = "";

  beforeAll(async () => {
    browser = await launchExtension(extensionDist("chrome"));
    const popup = await browser.openPopup();
    // Fill the form only once onboarding has rendered (the popup asks the worker first).
    await popup.getByRole("heading", { name: "Create your account" }).waitFor({ timeout: 15_000 });
    await popup.getByLabel("Relay URL").fill("http://127.0.0.1:1");
    await popup.getByLabel("Name", { exact: true }).fill("alice");
    await popup.getByLabel("Password", { exact: true }).fill("twelve chars");
    await popup.getByLabel("Confirm password").fill("twelve chars");
    await popup.getByRole("button", { name: "Create account" }).click();
    await popup
      .getByRole("heading", { name: "Inbox" })
      .waitFor({ timeout: 30_000 })
      .catch(async (e: unknown) => {
        // biome-ignore lint/performance/useDomNodeTextContent: what the user sees
        throw new Error(`no inbox; the popup shows: ${await popup.locator("body").innerText()}`, {
          cause: e,
        });
      });
    const reply = (await popup.evaluate(() =>
      chrome.runtime.sendMessage({ type: "exportBundle" }),
    )) as { ok: boolean; value: string };
    expect(reply.ok).toBe(true);

    const bob = await Client.create(
      new MemoryStorage(),
      { name: "bob", password: "bob's password", relay: "" },
      { kdf: { m: 1024, t: 1, p: 1 } },
    );
    await bob.addContact(reply.value);
    good = armor("MESSAGE", (await bob.encrypt("alice", SECRET)).envelope);
    bad = tamper(armor("MESSAGE", (await bob.encrypt("alice", "a second secret")).envelope));
    expect(bad).not.toBe(good);

    const html =
      "<!doctype html><html><head><title>test page</title>" +
      "<style>button { display: none !important; } iframe { height: 0 !important; }</style>" +
      "</head><body><h1>Messages</h1>" +
      `<pre id="good">${escapeHtml(good)}</pre>` +
      `<pre id="bad">${escapeHtml(bad)}</pre></body></html>`;
    server = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(html);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  it("decrypts in the frame; the host page never holds the plaintext", async () => {
    const page = await browser.context.newPage();
    await page.goto(pageUrl);
    const controls = page.locator("[data-secure-msg=decrypt]");
    await controls.first().waitFor({ timeout: 10_000 });
    expect(await controls.count()).toBe(2);

    // The host's shadow root is closed: the page (and locators) cannot see inside it.
    expect(
      await page.evaluate(() => document.querySelector("[data-secure-msg=decrypt]")?.shadowRoot),
    ).toBe(null);
    expect(await page.getByRole("button", { name: "Decrypt" }).count()).toBe(0);

    const frame = await clickControl(page, browser.extensionId, 0);
    await frame.locator(".text").waitFor({ timeout: 15_000 });
    expect(await frame.locator(".text").textContent()).toBe(SECRET);
    expect(await frame.locator(".from").textContent()).toContain("bob");
    expect(await frame.locator(".badge").textContent()).toBe("Not verified");
    // The page's CSS (iframe { height: 0 !important }) does not reach into the shadow root.
    const box = await controls.nth(0).boundingBox();
    expect(box?.height ?? 0).toBeGreaterThanOrEqual(150);

    const badFrame = await clickControl(page, browser.extensionId, 1);
    const error = badFrame.locator(".error");
    await error.waitFor({ timeout: 15_000 });
    expect(await error.textContent()).toMatch(
      /^(This message was changed or damaged \([A-Z_]+\)\.|This message is not for you\.)$/,
    );
    expect(await badFrame.locator(".text").count()).toBe(0);
    expect(await badFrame.content()).not.toContain("a second secret");

    expect(await page.content()).not.toContain(SECRET);
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is the point
    expect(await page.evaluate(() => document.body.innerText)).not.toContain(SECRET);
    expect(await page.content()).not.toContain("a second secret");
  }, 60_000);

  it("a lock takes the plaintext out of the frame; a click there shows it again once unlocked", async () => {
    const page = await browser.context.newPage();
    await page.goto(pageUrl);
    await page.locator("[data-secure-msg=decrypt]").first().waitFor({ timeout: 10_000 });
    const frame = await clickControl(page, browser.extensionId, 0);
    await frame.locator(".text").waitFor({ timeout: 15_000 });
    const popup = await browser.openPopup();
    await popup.evaluate(() => chrome.runtime.sendMessage({ type: "lock" }));
    await frame.locator(".error").waitFor({ timeout: 10_000 });
    expect(await frame.locator(".error").textContent()).toBe(
      "Unlock SECURE-MSG to read this message.",
    );
    expect(await frame.locator(".text").count()).toBe(0);
    expect(await frame.content()).not.toContain(SECRET);
    const unlocked = (await popup.evaluate(() =>
      chrome.runtime.sendMessage({ type: "unlock", password: "twelve chars" }),
    )) as { ok: boolean };
    expect(unlocked.ok).toBe(true);
    await frame.getByRole("button", { name: "Show again" }).click();
    await frame.locator(".text").waitFor({ timeout: 15_000 });
    expect(await frame.locator(".text").textContent()).toBe(SECRET);
  }, 60_000);

  it("adds a control to armor the page inserts later (MutationObserver)", async () => {
    const page = await browser.context.newPage();
    await page.goto(pageUrl);
    const controls = page.locator("[data-secure-msg=decrypt]");
    await controls.nth(1).waitFor({ timeout: 10_000 });
    await page.evaluate((text) => {
      const div = document.createElement("div");
      div.textContent = `Later: ${text} (end)`;
      document.body.append(div);
    }, good);
    await controls.nth(2).waitFor({ timeout: 5_000 });
    // A re-scan does not add a second control to a block that has one.
    await page.waitForTimeout(600);
    expect(await controls.count()).toBe(3);
  }, 30_000);
});
