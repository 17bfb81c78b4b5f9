/**
 * Builds the extension for one browser: `TARGET=chrome|firefox vite build` writes
 * `dist/extension/<target>/` (`npm run build:extension` builds both). The tests build into
 * their own folder through EXTENSION_OUT_DIR, so a test run never touches `dist/`.
 */
import { fileURLToPath } from "node:url";
import preact from "@preact/preset-vite";
import { defineConfig } from "vite";
import webExtension from "vite-plugin-web-extension";
import { FRAMES, manifest, type Target, WINDOWS } from "./manifest.config.js";

const target = (process.env.TARGET ?? "chrome") as Target;
if (target !== "chrome" && target !== "firefox") {
  throw new Error(`TARGET must be "chrome" or "firefox", not "${String(target)}"`);
}

export default defineConfig({
  // Paths in the manifest are relative to the repository root, and keep that layout in dist.
  root: fileURLToPath(new URL(".", import.meta.url)),
  // The sub-builds inherit the root config; vitest's own config stays in vitest.config.ts.
  plugins: [
    preact(),
    webExtension({
      manifest: () => manifest(target),
      browser: target,
      // Validation fetches a JSON schema over the network (DESIGN.md §5).
      skipManifestValidation: true,
      disableAutoLaunch: true,
      additionalInputs: [...FRAMES, ...WINDOWS],
    }),
  ],
  // Copied as is to the build's root: the icons (scripts/icons.mjs draws them).
  publicDir: "extension/public",
  build: {
    outDir: process.env.EXTENSION_OUT_DIR ?? `dist/extension/${target}`,
    // The plugin leaves stale files behind otherwise (DESIGN.md §5).
    emptyOutDir: true,
    // Extension pages run in current browsers only; the polyfill would be dead weight.
    modulePreload: { polyfill: false },
  },
});
