/// <reference types="chrome" />
/**
 * Access to a relay (issue 4, "Build"): the manifest grants the local host (the default
 * relay, and the content script's watchlist); any other relay is an optional host
 * permission that the user grants when they name it. Without it the worker cannot reach
 * the relay at all (the relay sends no CORS headers; it needs none from the extension).
 *
 * `askRelayAccess` must be called in the user's click, before any other await: a prompt
 * needs the user's action, and Firefox allows no await before it. So whether the manifest
 * already covers the relay is decided synchronously, from the manifest itself
 * (`permissions.contains` is async, and in Chromium it ignores the content script's hosts).
 */
import { parseAddress, relayUrlForHost } from "../../protocol/relay-api.js";
import { toSitePattern } from "../shared/sites.js";
import type { Problem } from "./api.js";

/** Shown when the user refuses the browser's prompt for a relay. */
export const NO_ACCESS: Problem = {
  code: "NO_RELAY_ACCESS",
  text: "The extension needs your permission to reach this relay.",
};

/**
 * True when the match `pattern` covers `url`: scheme, then host (`*`, `*.domain`, or
 * exact); a pattern without a port matches every port, as in Chromium.
 */
export function patternCovers(pattern: string, url: URL): boolean {
  const m = /^(\*|https?):\/\/([^/]+)\//.exec(pattern);
  if (!m) return pattern === "<all_urls>";
  const [, scheme, host = ""] = m;
  if (scheme === "*" ? !/^https?:$/.test(url.protocol) : url.protocol !== `${scheme}:`)
    return false;
  if (host === "*") return true;
  const colon = host.lastIndexOf(":");
  const hasPort = colon > host.lastIndexOf("]");
  const name = hasPort ? host.slice(0, colon) : host;
  if (hasPort && host.slice(colon + 1) !== (url.port || (url.protocol === "https:" ? "443" : "80")))
    return false;
  if (name.startsWith("*."))
    return url.hostname === name.slice(2) || url.hostname.endsWith(name.slice(1));
  return url.hostname === name;
}

/** The host patterns the manifest grants without asking. */
function grantedPatterns(manifest: chrome.runtime.Manifest): string[] {
  const hosts = "host_permissions" in manifest ? (manifest.host_permissions ?? []) : [];
  const scripts = (manifest.content_scripts ?? []).flatMap((c) => c.matches ?? []);
  return [...hosts, ...scripts];
}

/**
 * Asks the browser for access to `relay` unless the manifest already grants it; resolves
 * to whether the extension may reach it. Outside an extension (component tests) there is
 * nothing to ask.
 */
export function askRelayAccess(relay: string): Promise<boolean> {
  const api = globalThis.chrome;
  if (!api?.permissions || !api.runtime?.getManifest) return Promise.resolve(true);
  let url: URL;
  try {
    url = new URL(relay);
  } catch {
    return Promise.resolve(true); // not a URL: the worker refuses it with a clear error
  }
  if (grantedPatterns(api.runtime.getManifest()).some((p) => patternCovers(p, url)))
    return Promise.resolve(true);
  const origin = toSitePattern(relay);
  if (origin === null) return Promise.resolve(true);
  return api.permissions.request({ origins: [origin] }).catch(() => false);
}

/**
 * `askRelayAccess` for the relay an address names (`name@host[:port]`), as adding a
 * contact or writing to a new address reaches that relay. A bare name, or text that is no
 * address, asks nothing: the worker answers it (own relay, or a clear error).
 */
export function askAddressAccess(address: string): Promise<boolean> {
  let host: string | undefined;
  try {
    host = parseAddress(address.trim()).host;
  } catch {
    return Promise.resolve(true);
  }
  return host === undefined ? Promise.resolve(true) : askRelayAccess(relayUrlForHost(host));
}
