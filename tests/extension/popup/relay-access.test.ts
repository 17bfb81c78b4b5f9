/** Which relays the manifest already grants, so that onboarding asks only for the others. */
import { afterEach, describe, expect, it, vi } from "vitest";
import { askAddressAccess, patternCovers } from "../../../extension/popup/relay-access.js";
import { manifest } from "../../../manifest.config.js";

const covers = (pattern: string, url: string) => patternCovers(pattern, new URL(url));

describe("patternCovers", () => {
  it("matches scheme, host and port as match patterns do", () => {
    expect(covers("http://127.0.0.1:8787/*", "http://127.0.0.1:8787")).toBe(true);
    expect(covers("http://127.0.0.1:8787/*", "http://127.0.0.1:8788")).toBe(false);
    expect(covers("http://127.0.0.1:8787/*", "https://127.0.0.1:8787")).toBe(false);
    // No port in the pattern: every port.
    expect(covers("http://127.0.0.1/*", "http://127.0.0.1:40123")).toBe(true);
    expect(covers("http://127.0.0.1/*", "http://127.0.0.2:40123")).toBe(false);
    expect(covers("https://*.example.org/*", "https://relay.example.org")).toBe(true);
    expect(covers("https://*.example.org/*", "https://example.org")).toBe(true);
    expect(covers("https://*.example.org/*", "https://badexample.org")).toBe(false);
    expect(covers("*://*/*", "https://relay.example")).toBe(true);
    expect(covers("https://relay.example:443/*", "https://relay.example")).toBe(true);
  });

  it("the built manifest covers the local host on any port, and nothing else", () => {
    for (const target of ["chrome", "firefox"] as const) {
      const m = manifest(target);
      const granted = [
        ...(m.host_permissions ?? []),
        ...(m.content_scripts ?? []).flatMap((c) => c.matches ?? []),
      ];
      const any = (url: string) => granted.some((p) => covers(p, url));
      expect(any("http://127.0.0.1:8787")).toBe(true);
      expect(any("http://localhost:40123")).toBe(true);
      expect(any("https://relay.example")).toBe(false);
      expect(any("http://192.168.1.10:8787")).toBe(false);
    }
  });
});

describe("askAddressAccess", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  /** A browser whose user answers the prompt with `grant`; records what was asked. */
  function browser(grant: boolean) {
    const asked: string[][] = [];
    vi.stubGlobal("chrome", {
      runtime: { getManifest: () => manifest("chrome") },
      permissions: {
        request: async ({ origins }: { origins: string[] }) => {
          asked.push(origins);
          return grant;
        },
      },
    });
    return asked;
  }

  it("asks for the relay of an address on another host, and reports a refusal", async () => {
    const asked = browser(false);
    expect(await askAddressAccess(" bob@relay.example ")).toBe(false);
    expect(asked).toEqual([["https://relay.example/*"]]);
  });

  it("asks nothing for the local host, a bare name, or text that is no address", async () => {
    const asked = browser(false);
    expect(await askAddressAccess("bob@127.0.0.1:8787")).toBe(true);
    expect(await askAddressAccess("bob")).toBe(true);
    expect(await askAddressAccess("not an address@@")).toBe(true);
    expect(asked).toEqual([]);
  });
});
