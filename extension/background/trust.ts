/**
 * Who may ask what (issue 4, "On web pages"): only the extension's own pages (the popup
 * and the frames, whose URL is on the extension's origin) talk to the worker about
 * plaintext, keys or contacts. A content script runs inside a web page, so it may only
 * make the requests below, none of which answers with plaintext or keys.
 */
import { ExtensionError } from "../shared/errors.js";
import type { RequestType } from "../shared/messages.js";
import type { BrowserApi } from "./browser.js";

/** What `runtime.onMessage` says about a sender (`chrome.runtime.MessageSender`). */
export interface Sender {
  id?: string;
  url?: string;
  tab?: unknown;
  /** 0 for a tab's top document; another number for a frame inside it. */
  frameId?: number;
}

/**
 * True for a frame inside a tab's page (our decrypt and compose frames in a web page),
 * false for the popup and for our pages in a tab or window of their own (the chooser).
 * The page around such a frame can reload it at will (by moving its host element), so
 * what the frame asks on loading is no sign of the user.
 */
export function inPage(sender: Sender): boolean {
  return sender.tab !== undefined && sender.frameId !== 0;
}

/**
 * Requests a content script may make: none. A page can steer its content script, so even
 * `encryptFor` (armor only) would let a hostile page have messages sent in the user's name.
 * "Encrypt selection" is driven by the worker instead (context menu or command), which
 * asks the tab for the selection and the user for the contact.
 */
export const CONTENT_SCRIPT_REQUESTS: ReadonlySet<RequestType> = new Set<RequestType>([]);

/** True for the popup, the options page and the extension's frames (even inside a tab). */
export function isExtensionPage(sender: Sender, runtime: BrowserApi["runtime"]): boolean {
  const origin = runtime.getURL("");
  return (
    sender.id === runtime.id &&
    typeof sender.url === "string" &&
    origin.length > 0 &&
    sender.url.startsWith(origin)
  );
}

/** Throws FORBIDDEN unless `sender` may make a request of this type. */
export function checkTrust(type: RequestType, sender: Sender, runtime: BrowserApi["runtime"]) {
  if (isExtensionPage(sender, runtime) || CONTENT_SCRIPT_REQUESTS.has(type)) return;
  throw new ExtensionError("FORBIDDEN", `${type} is answered only to the extension's own pages`);
}
