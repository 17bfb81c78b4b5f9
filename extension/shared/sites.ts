/**
 * Sites where the content script looks for armored blocks, beyond the local host that the
 * manifest watches by default (issue 4, "Build"). A site is a host match pattern, which is
 * also the host permission the popup asks the browser for: `https://mail.example/*`,
 * `https://*.example.org/*`, or both of `ALL_SITES`. Shared by the popup (which asks for
 * the permission) and the worker (which registers the content script).
 */

/** "Allow all sites": every http and https page, as `optional_host_permissions` allows. */
export const ALL_SITES = ["https://*/*", "http://*/*"] as const;

/**
 * The site pattern for what a user typed: a host (`mail.example`, `*.example.org`) or a
 * URL (`https://mail.example/inbox`); https unless the URL says http. Ports, paths and
 * credentials are dropped or refused. Returns null for anything else.
 */
export function toSitePattern(input: string): string | null {
  let text = input.trim();
  if (text.length === 0 || text.length > 300) return null;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `https://${text}`;
  const m = /^(https?):\/\/(\*\.)?([^/?#]+)/i.exec(text);
  if (!m) return null;
  let url: URL;
  try {
    url = new URL(`${m[1]}://${m[3]}/`);
  } catch {
    return null;
  }
  if (url.username || url.password || !url.hostname || url.hostname.includes("*")) return null;
  if (m[2] && !url.hostname.includes(".")) return null;
  return `${url.protocol}//${m[2] ?? ""}${url.hostname}/*`;
}

/** True when `pattern` (one of ours) matches `url`. */
export function sitePatternMatches(pattern: string, url: string): boolean {
  const m = /^(https?):\/\/(\*|\*\.[^/]+|[^/*]+)\/\*$/.exec(pattern);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (!m || u.protocol !== `${m[1]}:`) return false;
  const host = m[2] ?? "";
  if (host === "*") return true;
  if (host.startsWith("*."))
    return u.hostname === host.slice(2) || u.hostname.endsWith(host.slice(1));
  return u.hostname === host;
}
