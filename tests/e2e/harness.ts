/**
 * Runs the built extension in Debian's Chromium through playwright-core (DESIGN.md §6).
 * Each `launchExtension()` is one browser profile (Alice, Bob, …) with the extension loaded.
 *
 * Without Chromium, `browserMissing()` lets a developer's `npm test` skip these tests with a
 * notice; in CI a missing browser is a failure (issue 4, "Tests"), so nothing is skipped
 * and `launchExtension()` throws.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page, type Worker } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** True (after printing a notice) when these tests should be skipped on this machine. */
export function browserMissing(): boolean {
  if (existsSync(CHROMIUM) || process.env.CI) return false;
  console.warn(
    `\n  NOTICE: browser tests skipped, no Chromium at ${CHROMIUM}.` +
      "\n  Install it with `apt-get install -y chromium` (or set CHROMIUM_PATH) to run them.\n",
  );
  return true;
}

export interface ExtensionBrowser {
  readonly context: BrowserContext;
  /** The extension's background service worker. */
  readonly worker: Worker;
  readonly extensionId: string;
  /** `chrome-extension://<id>/<path>`. */
  url(path: string): string;
  /** Opens the popup as a page at the popup's standard size (about 380×600). */
  openPopup(): Promise<Page>;
  /**
   * Stops the extension's service worker, as the browser does to an idle one (DevTools
   * protocol `ServiceWorker.stopAllWorkers`), and resolves once it has gone. The next
   * message from a page starts it again; `currentWorker()` then returns the new one.
   */
  stopWorker(): Promise<void>;
  /** The running service worker, started again (by a message or an alarm) if stopped. */
  currentWorker(): Promise<Worker>;
  /** Closes the browser; the profile folder is deleted unless the caller passed it in. */
  close(): Promise<void>;
}

export interface LaunchOptions {
  /**
   * The profile folder (user data dir). A folder from an earlier launch reopens that
   * profile, its extension storage included: closing and launching again is a browser
   * restart. The caller owns (and deletes) a folder it passes in.
   */
  userDataDir?: string;
}

/** Launches Chromium with the unpacked extension at `dist` (an absolute path). */
export async function launchExtension(
  dist: string,
  options: LaunchOptions = {},
): Promise<ExtensionBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the browser tests cannot run. ` +
        "Install it with `apt-get install -y chromium` (.ci/run does this).",
    );
  }
  if (!existsSync(join(dist, "manifest.json"))) {
    throw new Error(`no built extension at ${dist} (run \`npm run build:extension\`)`);
  }
  const ownDir = options.userDataDir === undefined;
  const userDataDir = options.userDataDir ?? (await mkdtemp(join(tmpdir(), "secure-msg-profile-")));
  const removeDir = () => (ownDir ? rm(userDataDir, { recursive: true, force: true }) : undefined);
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      `--disable-extensions-except=${dist}`,
      `--load-extension=${dist}`,
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      "--disable-gpu",
      // Chromium's sandbox refuses to run as root, which CI does.
      "--no-sandbox",
    ],
  });
  try {
    const worker =
      context.serviceWorkers()[0] ??
      (await context.waitForEvent("serviceworker", { timeout: 15_000 }));
    // The worker's URL is chrome-extension://<id>/extension/background/main.js.
    const extensionId = new URL(worker.url()).host;
    const url = (path: string) => `chrome-extension://${extensionId}/${path.replace(/^\//, "")}`;
    return {
      context,
      worker,
      extensionId,
      url,
      async openPopup() {
        const page = await context.newPage();
        await page.setViewportSize({ width: 380, height: 600 });
        await page.goto(url("extension/popup/index.html"));
        return page;
      },
      async stopWorker() {
        // Playwright keeps a stopped worker's handle until the browser closes, so the
        // DevTools protocol's own version updates say when the worker has stopped.
        const page = await context.newPage();
        try {
          const cdp = await context.newCDPSession(page);
          const stopped = new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error("the worker did not stop")), 15_000);
            cdp.on("ServiceWorker.workerVersionUpdated", ({ versions }) => {
              const ours = versions.filter((v) => v.scriptURL === worker.url());
              if (ours.length > 0 && ours.every((v) => v.runningStatus === "stopped")) {
                clearTimeout(timer);
                resolve();
              }
            });
          });
          await cdp.send("ServiceWorker.enable");
          await cdp.send("ServiceWorker.stopAllWorkers");
          await stopped;
          await cdp.detach();
        } finally {
          await page.close();
        }
      },
      async currentWorker() {
        const running = context.serviceWorkers().find((w) => w.url() === worker.url());
        if (running) return running;
        return context.waitForEvent("serviceworker", {
          predicate: (w) => w.url() === worker.url(),
          timeout: 15_000,
        });
      },
      async close() {
        await context.close();
        await removeDir();
      },
    };
  } catch (err) {
    await context.close();
    await removeDir();
    throw err;
  }
}
