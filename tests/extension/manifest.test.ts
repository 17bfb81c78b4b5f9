/** The manifest grants the minimum (issue 4, "Build"), and the Firefox build passes web-ext lint. */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CSP, manifest, type Target } from "../../manifest.config.js";
import { extensionDist } from "../e2e/build.js";

const targets: Target[] = ["chrome", "firefox"];

describe.each(targets)("manifest(%s)", (target) => {
  const m = manifest(target);

  it("is MV3 with the package's version", () => {
    expect(m.manifest_version).toBe(3);
    expect(m.name).toBe("SECURE-MSG");
    expect(m.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(m.action?.default_popup).toBe("extension/popup/index.html");
  });

  it("grants host access to the local relay only", () => {
    expect(m.host_permissions).toEqual(["http://127.0.0.1:8787/*", "http://localhost:8787/*"]);
    // Other relays and sites are asked for at runtime.
    expect(m.optional_host_permissions).toEqual(["https://*/*", "http://*/*"]);
    for (const p of [...(m.host_permissions ?? []), ...(m.permissions ?? [])]) {
      expect(p).not.toMatch(/<all_urls>|^\*:|^https?:\/\/\*/);
    }
    expect(m.permissions).toEqual([
      "storage",
      "alarms",
      "contextMenus",
      "activeTab",
      "scripting",
      "notifications",
    ]);
  });

  it("runs the content script on the local host only", () => {
    expect(m.content_scripts).toEqual([
      expect.objectContaining({ matches: ["http://127.0.0.1/*", "http://localhost/*"] }),
    ]);
  });

  it("allows 'wasm-unsafe-eval' in the CSP and nothing looser", () => {
    const csp = m.content_security_policy;
    expect(typeof csp === "object" && csp.extension_pages).toBe(
      "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'",
    );
    expect(CSP).not.toMatch(/'unsafe-eval'|'unsafe-inline'|\*|https?:|data:|blob:/);
  });

  it("declares the encrypt-selection command and the frames", () => {
    expect(m.commands?.["encrypt-selection"]?.suggested_key?.default).toBe("Ctrl+Shift+E");
    expect(m.web_accessible_resources).toEqual([
      {
        resources: ["extension/frames/decrypt.html", "extension/frames/compose.html"],
        matches: ["<all_urls>"],
        // Chrome: only the per-session URL our own scripts get from runtime.getURL loads
        // them, so a page cannot embed a decrypt frame with armor of its choosing.
        ...(target === "chrome" ? { use_dynamic_url: true } : {}),
      },
    ]);
    // Never the chooser or the popup: no page may embed them.
    expect(JSON.stringify(m.web_accessible_resources)).not.toMatch(/chooser|popup/);
  });
});

describe.each(targets)("the %s build", (target) => {
  it("holds every icon the manifest names, as a PNG of its size", async () => {
    const dist = extensionDist(target);
    const built = JSON.parse(await readFile(join(dist, "manifest.json"), "utf8")) as {
      icons: Record<string, string>;
      action: { default_icon: Record<string, string> };
    };
    // Chrome shows no notification without an icon (extension/background/inbox.ts).
    expect(Object.keys(built.icons).sort()).toEqual(["128", "16", "32", "48"]);
    expect(built.action.default_icon).toEqual(built.icons);
    for (const [size, path] of Object.entries(built.icons)) {
      const png = await readFile(join(dist, path));
      expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
      expect(png.readUInt32BE(16)).toBe(Number(size)); // IHDR width
      expect(png.readUInt32BE(20)).toBe(Number(size)); // IHDR height
    }
  });
});

describe("background per target", () => {
  it("chrome: a module service worker, no gecko settings", () => {
    const m = manifest("chrome");
    expect(m.background).toEqual({
      service_worker: "extension/background/main.ts",
      type: "module",
    });
    expect(m.browser_specific_settings).toBeUndefined();
  });

  it("firefox: background.scripts and a gecko id", () => {
    const m = manifest("firefox");
    expect(m.background).toEqual({ scripts: ["extension/background/main.ts"], type: "module" });
    expect(m.browser_specific_settings?.gecko).toMatchObject({
      id: "secure-msg@example.org",
      strict_min_version: "128.0",
    });
  });
});

interface LintReport {
  summary: { errors: number; warnings: number; notices: number };
  errors: { code: string; message: string; file?: string }[];
  warnings: { code: string; message: string; file?: string }[];
}

describe("web-ext lint", () => {
  it("passes on the Firefox build with no errors", async () => {
    const dist = extensionDist("firefox");
    // web-ext exits non-zero when it finds errors; the JSON report is on stdout either way.
    const stdout = await promisify(execFile)(
      "npx",
      ["--no-install", "web-ext", "lint", "--source-dir", dist, "--output", "json"],
      { cwd: fileURLToPath(new URL("../..", import.meta.url)) },
    ).then(
      (r) => r.stdout,
      (err: { stdout?: string }) => err.stdout ?? "",
    );
    const report = JSON.parse(stdout) as LintReport;
    for (const w of report.warnings) {
      console.log(`web-ext lint warning ${w.code}: ${w.message} (${w.file ?? "-"})`);
    }
    expect(report.errors).toEqual([]);
    expect(report.summary.errors).toBe(0);
  });
});
