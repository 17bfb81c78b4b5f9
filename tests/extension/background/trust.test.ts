import { describe, expect, it } from "vitest";
import {
  CONTENT_SCRIPT_REQUESTS,
  checkTrust,
  isExtensionPage,
} from "../../../extension/background/trust.js";
import { ExtensionError } from "../../../extension/shared/errors.js";
import { REQUEST_TYPES } from "../../../extension/shared/messages.js";
import { contentScript, EXTENSION_ID, FakeBrowser, frame, ORIGIN, popup } from "./fake-browser.js";

const { runtime } = new FakeBrowser();

describe("trust", () => {
  it("knows the extension's own pages, in a tab or not", () => {
    expect(isExtensionPage(popup, runtime)).toBe(true);
    expect(isExtensionPage(frame, runtime)).toBe(true);
  });

  it("does not trust a content script, another origin, or a sender without a URL", () => {
    expect(isExtensionPage(contentScript, runtime)).toBe(false);
    expect(isExtensionPage({ id: EXTENSION_ID }, runtime)).toBe(false);
    expect(isExtensionPage({ id: EXTENSION_ID, url: "about:blank", tab: {} }, runtime)).toBe(false);
    // A prefix of the origin without its slash, another extension, a page that names us.
    const lookalike = `chrome-extension://${EXTENSION_ID}x/popup.html`;
    expect(isExtensionPage({ id: EXTENSION_ID, url: lookalike }, runtime)).toBe(false);
    expect(isExtensionPage({ id: "other", url: `${ORIGIN}popup.html` }, runtime)).toBe(false);
    const named = `https://evil.example/?u=${ORIGIN}`;
    expect(isExtensionPage({ id: EXTENSION_ID, url: named }, runtime)).toBe(false);
  });

  it("works with Firefox's moz-extension origin", () => {
    const ff = {
      id: "secure-msg@example.org",
      getURL: (p: string) => `moz-extension://1234-abcd/${p}`,
      getManifest: () => ({}),
    };
    expect(isExtensionPage({ id: ff.id, url: "moz-extension://1234-abcd/popup.html" }, ff)).toBe(
      true,
    );
    expect(isExtensionPage({ id: ff.id, url: "moz-extension://9999/popup.html" }, ff)).toBe(false);
  });

  it("refuses every request from a content script", () => {
    expect([...CONTENT_SCRIPT_REQUESTS]).toEqual([]);
    for (const type of REQUEST_TYPES) {
      expect(() => checkTrust(type, popup, runtime)).not.toThrow();
      if (CONTENT_SCRIPT_REQUESTS.has(type)) continue;
      let error: unknown;
      try {
        checkTrust(type, contentScript, runtime);
      } catch (e) {
        error = e;
      }
      expect(ExtensionError.is(error, "FORBIDDEN"), type).toBe(true);
    }
  });
});
