/**
 * Site access (sites.ts, shared/sites.ts): the content script is registered for exactly
 * the added sites whose host permission is granted, follows grants and revocations, and
 * gives a removed site's permission back unless a relay needs it. The browser is faked.
 */
import { describe, expect, it } from "vitest";
import { SITES_SCRIPT_ID, Sites, type SitesApi } from "../../../extension/background/sites.js";
import { ALL_SITES, sitePatternMatches, toSitePattern } from "../../../extension/shared/sites.js";
import { ProtocolError } from "../../../protocol/errors.js";
import { FakeArea } from "./fake-browser.js";

type Script = Parameters<SitesApi["scripting"]["registerContentScripts"]>[0][number];

class FakeSitesBrowser implements SitesApi {
  readonly granted = new Set<string>();
  readonly scripts = new Map<string, Script>();
  readonly removed: string[] = [];
  readonly storage = { local: new FakeArea() };
  readonly runtime = {
    getManifest: () => ({ content_scripts: [{ js: ["extension/content/main.js"] }] }),
  };
  readonly permissions = {
    contains: async ({ origins }: { origins: string[] }) =>
      origins.every((o) => this.granted.has(o)),
    remove: async ({ origins }: { origins: string[] }) => {
      for (const o of origins) this.granted.delete(o);
      this.removed.push(...origins);
      return true;
    },
  };
  readonly scripting = {
    getRegisteredContentScripts: async ({ ids }: { ids: string[] }) =>
      ids.filter((id) => this.scripts.has(id)).map((id) => ({ id })),
    registerContentScripts: async (list: Script[]) => {
      for (const s of list) {
        if (this.scripts.has(s.id)) throw new Error(`Duplicate script ID '${s.id}'`);
        this.scripts.set(s.id, s);
      }
    },
    updateContentScripts: async (list: Script[]) => {
      for (const s of list) {
        if (!this.scripts.has(s.id)) throw new Error(`no script '${s.id}'`);
        this.scripts.set(s.id, s);
      }
    },
    unregisterContentScripts: async ({ ids }: { ids: string[] }) => {
      for (const id of ids) this.scripts.delete(id);
    },
  };
  matches(): string[] | undefined {
    return this.scripts.get(SITES_SCRIPT_ID)?.matches;
  }
}

function setup(relays: string[] = []) {
  const b = new FakeSitesBrowser();
  return { b, sites: new Sites(b, async () => relays) };
}

describe("toSitePattern", () => {
  it.each([
    ["mail.example.com", "https://mail.example.com/*"],
    ["  https://mail.example.com/inbox?x=1#y ", "https://mail.example.com/*"],
    ["http://127.0.0.2:8080", "http://127.0.0.2/*"],
    ["*.example.org", "https://*.example.org/*"],
    ["HTTPS://Mail.Example.COM", "https://mail.example.com/*"],
  ])("%s → %s", (input, pattern) => {
    expect(toSitePattern(input)).toBe(pattern);
  });

  it.each([
    "",
    "ftp://example.com",
    "javascript:alert(1)",
    "https://user:pw@example.com",
    "*",
    "*.com*",
    "https://*/*",
    "exa mple.com",
    "x".repeat(400),
  ])("refuses %j", (input) => {
    expect(toSitePattern(input)).toBe(null);
  });

  it("matches URLs as the browser's patterns do", () => {
    expect(sitePatternMatches("https://mail.example.com/*", "https://mail.example.com/a")).toBe(
      true,
    );
    expect(sitePatternMatches("https://mail.example.com/*", "http://mail.example.com/")).toBe(
      false,
    );
    expect(sitePatternMatches("https://*.example.org/*", "https://a.b.example.org/")).toBe(true);
    expect(sitePatternMatches("https://*.example.org/*", "https://badexample.org/")).toBe(false);
    expect(sitePatternMatches("http://*/*", "http://127.0.0.1:8787/")).toBe(true);
  });
});

describe("Sites", () => {
  it("registers the content script only once the permission is granted", async () => {
    const { b, sites } = setup();
    expect(await sites.add("mail.example.com")).toEqual([
      { pattern: "https://mail.example.com/*", allowed: false },
    ]);
    expect(b.matches()).toBeUndefined();

    b.granted.add("https://mail.example.com/*");
    await sites.sync(); // permissions.onAdded
    expect(b.scripts.get(SITES_SCRIPT_ID)).toEqual({
      id: SITES_SCRIPT_ID,
      matches: ["https://mail.example.com/*"],
      js: ["extension/content/main.js"],
      runAt: "document_idle",
      persistAcrossSessions: true,
    });
  });

  it("updates the one script as sites come and go, and unregisters it when none is left", async () => {
    const { b, sites } = setup();
    b.granted.add("https://a.example/*").add("https://b.example/*");
    await sites.add("a.example");
    await sites.add("b.example");
    await sites.add("a.example"); // no duplicate
    expect(b.matches()).toEqual(["https://a.example/*", "https://b.example/*"]);

    expect(await sites.remove("https://a.example/*")).toEqual([
      { pattern: "https://b.example/*", allowed: true },
    ]);
    expect(b.matches()).toEqual(["https://b.example/*"]);
    expect(b.removed).toEqual(["https://a.example/*"]);

    await sites.remove("https://b.example/*");
    expect(b.scripts.size).toBe(0);
  });

  it("follows a permission revoked in the browser's own settings", async () => {
    const { b, sites } = setup();
    b.granted.add("https://a.example/*");
    await sites.add("a.example");
    b.granted.delete("https://a.example/*");
    await sites.sync(); // permissions.onRemoved
    expect(b.scripts.size).toBe(0);
    expect(await sites.list()).toEqual([{ pattern: "https://a.example/*", allowed: false }]);
  });

  it("allows all sites with the two optional host patterns", async () => {
    const { b, sites } = setup();
    for (const p of ALL_SITES) b.granted.add(p);
    for (const p of ALL_SITES) await sites.add(p);
    expect(b.matches()).toEqual([...ALL_SITES]);
  });

  it("keeps the host permission a relay needs when its site is removed", async () => {
    const { b, sites } = setup(["https://relay.example/"]);
    b.granted.add("https://relay.example/*");
    await sites.add("relay.example");
    await sites.remove("https://relay.example/*");
    expect(b.removed).toEqual([]);
    expect(b.granted.has("https://relay.example/*")).toBe(true);
    expect(b.scripts.size).toBe(0);
  });

  it("refuses what is not a site, and registers nothing from a tampered list", async () => {
    const { b, sites } = setup();
    await expect(sites.add("<all_urls>")).rejects.toSatisfy((e) =>
      ProtocolError.is(e, "INVALID_ARGUMENT"),
    );
    // storage.local is not a trusted store: junk in it grants nothing.
    await b.storage.local.set({ sites: ["<all_urls>", 42, "https://x.example/*"] });
    expect(await sites.list()).toEqual([
      { pattern: "<all_urls>", allowed: false },
      { pattern: "https://x.example/*", allowed: false },
    ]);
    expect(b.scripts.size).toBe(0);
  });

  it("never registers twice when syncs overlap", async () => {
    const { b, sites } = setup();
    b.granted.add("https://a.example/*");
    await b.storage.local.set({ sites: ["https://a.example/*"] });
    await Promise.all([sites.sync(), sites.sync(), sites.list()]);
    expect(b.matches()).toEqual(["https://a.example/*"]);
  });
});
