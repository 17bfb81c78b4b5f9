/**
 * What the browser tests do on web pages: a build standing in for activeTab, the context
 * menu click the browser sends, and the in-page Decrypt control and its frame. Shared by
 * tests/e2e/decrypt.test.ts, page.test.ts and selection-exchange.test.ts.
 */
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Frame, Page } from "playwright-core";
import { extensionDist } from "./build.js";
import type { ExtensionBrowser } from "./harness.js";

export function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * A copy of the Chrome build in `dir` whose manifest also grants `hosts`. A menu click
 * dispatched by a test does not grant `activeTab` as a user's click does, so the tests'
 * pages are granted this way instead.
 */
export async function hostGrantedBuild(dir: string, hosts: string[]): Promise<string> {
  await cp(extensionDist("chrome"), dir, { recursive: true });
  const path = join(dir, "manifest.json");
  const m = JSON.parse(await readFile(path, "utf8")) as { host_permissions: string[] };
  m.host_permissions.push(...hosts);
  await writeFile(path, JSON.stringify(m));
  return dir;
}

/** What the browser does on a click on our context-menu item `menuItemId` in `page`. */
export async function menuClick(
  browser: ExtensionBrowser,
  page: Page,
  menuItemId: string,
): Promise<void> {
  await page.bringToFront();
  await browser.worker.evaluate(
    async ({ url, menuItemId }) => {
      const tab = (await chrome.tabs.query({})).find((t) => t.url === url);
      if (!tab) throw new Error(`no tab at ${url}`);
      const info = { menuItemId, frameId: 0, editable: true, pageUrl: url };
      (chrome.contextMenus.onClicked as unknown as { dispatch(...a: unknown[]): void }).dispatch(
        info,
        tab,
      );
    },
    { url: page.url(), menuItemId },
  );
}

/** The n-th (1-based) decrypt frame in `page`, once it is there. */
export async function decryptFrame(
  page: Page,
  extensionId: string,
  n: number,
  tries = 100,
): Promise<Frame> {
  const prefix = `chrome-extension://${extensionId}/extension/frames/decrypt.html`;
  for (let t = 0; t < tries; t++) {
    const frames = page.frames().filter((f) => f.url().startsWith(prefix));
    if (frames.length >= n) return frames[n - 1]!;
    await page.waitForTimeout(100);
  }
  throw new Error(
    `decrypt frame ${n} did not appear; frames: ${page
      .frames()
      .map((f) => f.url().slice(0, 120))
      .join(", ")}`,
  );
}

/**
 * Clicks the n-th (0-based) Decrypt control as a user does, with the mouse at the host's
 * centre, where the button (which fills the host) is; resolves with its frame. Locators
 * cannot reach into the closed shadow root, and a locator click on the host is swallowed
 * by Playwright's hit-target check (it sees the host, retargeted from the closed root).
 * After an earlier click the mouse hovers an extension frame (another process), and
 * headless Chromium sometimes routes the next click there, so the pointer is moved in
 * steps first and the click retried if no frame appears.
 */
export async function clickControl(page: Page, extensionId: string, n: number): Promise<Frame> {
  const host = page.locator("[data-secure-msg=decrypt]").nth(n);
  for (let attempt = 0; attempt < 3; attempt++) {
    await host.scrollIntoViewIfNeeded();
    const box = await host.boundingBox();
    if (!box) throw new Error(`control ${n} has no box`);
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 5 });
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const frame = await decryptFrame(page, extensionId, n + 1, 30).catch(() => undefined);
    if (frame) return frame;
  }
  return decryptFrame(page, extensionId, n + 1);
}
