/**
 * The extension's manifest (MV3) for both targets, read by `vite.config.ts`.
 *
 * Permissions are the minimum the extension needs (issue 4, "Build"):
 * - host access is granted up front only to the local default relay; any other relay the
 *   user configures is asked for at runtime through `optional_host_permissions`;
 * - the content script that finds armored blocks runs on the local host only (the default
 *   watchlist); the user can grant more sites from the settings;
 * - "Encrypt selection for…" and "Secure compose…" (context menu or command) work on any
 *   page through `activeTab` + `scripting`, with no host access: the click or the command
 *   grants the worker that one tab until it navigates (extension/background/insertions.ts).
 * The CSP adds only `'wasm-unsafe-eval'`, which Argon2id (hash-wasm) needs.
 */
import { readFileSync } from "node:fs";
import type { Manifest } from "webextension-polyfill";

export type Target = "chrome" | "firefox";

const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
  version: string;
};

const BACKGROUND = "extension/background/main.ts";
export const POPUP = "extension/popup/index.html";
/** Drawn by scripts/icons.mjs. Chrome needs one for notifications (background/inbox.ts). */
const ICONS = Object.fromEntries([16, 32, 48, 128].map((n) => [String(n), `icons/icon-${n}.png`]));

export const FRAMES = ["extension/frames/decrypt.html", "extension/frames/compose.html"];
/** Extension pages opened as windows by the worker; not web-accessible (no page embeds them). */
export const WINDOWS = ["extension/frames/chooser.html"];

/** The local default relay (`secure-msg relay` listens on 127.0.0.1:8787). */
export const RELAY_HOSTS = ["http://127.0.0.1:8787/*", "http://localhost:8787/*"];
/** Pages the content script watches by default; the user can add more from settings. */
export const WATCHED_PAGES = ["http://127.0.0.1/*", "http://localhost/*"];

export const CSP = "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'";

export function manifest(target: Target): Manifest.WebExtensionManifest {
  return {
    manifest_version: 3,
    name: "SECURE-MSG",
    version: pkg.version,
    description: "Post-quantum end-to-end encrypted messaging, in your browser.",
    ...(target === "chrome"
      ? { background: { service_worker: BACKGROUND, type: "module" } }
      : {
          background: { scripts: [BACKGROUND], type: "module" },
          browser_specific_settings: {
            gecko: {
              id: "secure-msg@example.org",
              strict_min_version: "128.0",
              // Firefox's built-in consent: the extension collects and transmits nothing
              // beyond the encrypted messages the user sends.
              data_collection_permissions: { required: ["none"] },
            },
          },
        }),
    icons: ICONS,
    action: { default_title: "SECURE-MSG", default_popup: POPUP, default_icon: ICONS },
    permissions: ["storage", "alarms", "contextMenus", "activeTab", "scripting", "notifications"],
    host_permissions: RELAY_HOSTS,
    optional_host_permissions: ["https://*/*", "http://*/*"],
    content_security_policy: { extension_pages: CSP },
    commands: {
      "encrypt-selection": {
        suggested_key: { default: "Ctrl+Shift+E", mac: "Command+Shift+E" },
        description: "Encrypt selection for…",
      },
      // No default key: Chrome allows four suggested keys, and users can pick one.
      "secure-compose": { description: "Secure compose…" },
    },
    content_scripts: [
      { matches: WATCHED_PAGES, js: ["extension/content/main.ts"], run_at: "document_idle" },
    ],
    // The frames show plaintext inside pages, from the extension's origin, so any page the
    // content script runs on (the default watchlist, or sites the user adds) and any page
    // where secure compose is used (activeTab: any site) may embed them. This grants no host
    // access. On Chrome they load only through the per-session dynamic URL, which only our
    // content script and worker know (`runtime.getURL`): a page cannot embed a frame of its
    // own choosing (decrypting armor it picked, with no click, to clickjack or to load the
    // worker) nor probe for the extension. Firefox has no dynamic URL; its moz-extension
    // origin is random per install (docs/threat-model.md, 3.4).
    web_accessible_resources: [
      {
        resources: FRAMES,
        matches: ["<all_urls>"],
        ...(target === "chrome" ? { use_dynamic_url: true } : {}),
      },
    ],
  };
}
