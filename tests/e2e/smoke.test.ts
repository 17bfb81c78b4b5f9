/** The extension loads in Chromium: its worker runs and its popup renders. */
import { mkdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { extensionDist } from "./build.js";
import { SCREENSHOTS } from "./flows.js";
import { browserMissing, type ExtensionBrowser, launchExtension } from "./harness.js";

describe.skipIf(browserMissing())("extension smoke test (Chromium)", () => {
  let browser: ExtensionBrowser;

  beforeAll(async () => {
    browser = await launchExtension(extensionDist("chrome"));
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("runs the background service worker", () => {
    expect(browser.extensionId).toMatch(/^[a-p]{32}$/);
    expect(browser.worker.url()).toBe(browser.url("extension/background/main.js"));
  });

  it("renders the popup", async () => {
    const popup = await browser.openPopup();
    const heading = popup.getByRole("heading", { name: "SECURE-MSG" });
    await heading.waitFor({ timeout: 5_000 });
    expect(await heading.count()).toBe(1);
    expect(await popup.getByRole("main").count()).toBe(1);
    await mkdir(SCREENSHOTS, { recursive: true });
    await popup.screenshot({ path: new URL("popup-smoke.png", SCREENSHOTS).pathname });
  });

  it("creates an account in the popup and shows the inbox", async () => {
    const popup = await browser.openPopup();
    // Unreachable relay: the worker keeps the account (registered=false) and retries later.
    await popup.getByLabel("Relay URL").fill("http://127.0.0.1:1");
    await popup.getByLabel("Name", { exact: true }).fill("alice");
    await popup.getByLabel("Password", { exact: true }).fill("twelve chars");
    await popup.getByLabel("Confirm password").fill("twelve chars");
    await popup.getByRole("button", { name: "Create account" }).click();
    const inbox = popup.getByRole("heading", { name: "Inbox" });
    await inbox.waitFor({ timeout: 30_000 });
    expect(await popup.getByRole("button", { name: "Lock" }).count()).toBe(1);
    await mkdir(SCREENSHOTS, { recursive: true });
    await popup.screenshot({ path: new URL("popup-inbox.png", SCREENSHOTS).pathname });
  });
});
