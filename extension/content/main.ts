/**
 * Content script, on the watched pages only (manifest.config.ts): finds armored MESSAGE
 * blocks in the page's text and places a small Decrypt control after each one. A click
 * replaces the control with the decrypt frame (extension/frames/decrypt.html), an
 * extension page that asks the worker itself; the armor (ciphertext) goes in the frame's
 * URL fragment. This script sends no requests and never sees plaintext or keys.
 *
 * The control lives in a closed shadow root, so page CSS cannot restyle it and page
 * scripts cannot reach the frame element through `host.shadowRoot`. (Playwright can still
 * click it: a click on the host lands on the button, which fills the host.)
 *
 * A block split across elements (lines separated by <br>, or a <div> per line as webmail
 * shows them) is found in the nearest container that holds it whole, read with <br> and
 * block elements as line breaks (split-armor.ts); only that armor goes to the frame.
 *
 * The script may run twice in a frame (the manifest's local-host entry and a site the
 * user added, or "allow all"): both share this isolated world, so the second one stops.
 */
import { findArmor } from "../../protocol/armor.js";
import { BEGIN_MARK, type Lines, splitArmor } from "./split-armor.js";

/**
 * The control's host: a plain `span` marked by an attribute. Never a custom-element name:
 * a page could define that name first and, through the element's internals, reach the
 * closed shadow root (the button, the frame's URL).
 */
const HOST_ATTRIBUTE = "data-secure-msg";
const FRAME = "extension/frames/decrypt.html";
/** Where armor is text, not page content we may add controls to. */
const SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEXTAREA", "TEMPLATE", "TITLE"]);
const THROTTLE_MS = 250;

/** Our own hosts, so a re-scan does not add a second control to the same block. */
const hosts = new WeakSet<Node>();

function skipped(node: Text): boolean {
  const parent = node.parentElement;
  if (!parent) return true;
  if (SKIP.has(parent.tagName) || hosts.has(parent)) return true;
  return parent.isContentEditable;
}

function makeControl(armorText: string): HTMLElement {
  const host = document.createElement("span");
  host.setAttribute(HOST_ATTRIBUTE, "decrypt");
  hosts.add(host);
  // Inline-block, so the button fills the host until the frame replaces it.
  host.setAttribute("style", "all: initial; display: inline-block; margin: 4px 0;");
  const root = host.attachShadow({ mode: "closed" });
  const style = document.createElement("style");
  style.textContent = `
    button { font: 13px/1.2 system-ui, sans-serif; padding: 4px 10px; border: 1px solid #445;
      border-radius: 4px; background: #f4f4f8; color: #223; cursor: pointer; }
    iframe { display: block; width: 100%; height: 160px; border: 0; }`;
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Decrypt";
  button.addEventListener("click", (ev) => {
    ev.preventDefault();
    ev.stopPropagation();
    const frame = document.createElement("iframe");
    frame.title = "SECURE-MSG decrypted message";
    frame.src = `${chrome.runtime.getURL(FRAME)}#${encodeURIComponent(armorText)}`;
    host.setAttribute("style", "all: initial; display: block; width: 100%; margin: 4px 0;");
    button.replaceWith(frame);
  });
  root.append(style, button);
  return host;
}

/** `cache`: the containers read in this scan (split-armor.ts), each read once. */
function scanText(node: Text, cache: Map<Element, Lines>): void {
  if (skipped(node)) return;
  const data = node.data;
  if (!data.includes("SECURE-MSG")) return;
  const blocks = findArmor(data).filter((b) => b.kind === "MESSAGE");
  if (blocks.length === 0 && data.includes(BEGIN_MARK)) {
    // The start of a block whose lines sit in other nodes.
    const found = splitArmor(
      node,
      (el) => (el instanceof HTMLElement && el.isContentEditable) || hosts.has(el),
      cache,
    );
    if (!found) return;
    const control = makeControl(found.armor);
    if (found.container === document.body) found.container.append(control);
    else found.container.after(control);
    return;
  }
  // From the last block back, so earlier offsets stay valid while the node is split.
  for (let i = blocks.length - 1; i >= 0; i--) {
    const b = blocks[i]!;
    if (b.end === node.data.length && node.nextSibling && hosts.has(node.nextSibling)) continue;
    const rest = b.end < node.data.length ? node.splitText(b.end) : null;
    node.parentNode?.insertBefore(makeControl(b.text), rest ?? node.nextSibling);
  }
}

/**
 * `cache` is shared by every root of one flush: a page that adds thousands of nodes at
 * once gets each container read once, not once per added node. Between two flushes the
 * page may change anything, so each flush starts afresh.
 */
function scan(root: Node, cache: Map<Element, Lines> = new Map()): void {
  if (root.nodeType === Node.TEXT_NODE) {
    scanText(root as Text, cache);
    return;
  }
  if (hosts.has(root)) return;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const texts: Text[] = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) texts.push(n as Text);
  for (const t of texts) scanText(t, cache);
}

let pending = new Set<Node>();
let scheduled = false;

function flush(): void {
  scheduled = false;
  const roots = pending;
  pending = new Set();
  const cache = new Map<Element, Lines>();
  for (const r of roots) if (r.isConnected) scan(r, cache);
}

function queue(node: Node): void {
  pending.add(node);
  if (scheduled) return;
  scheduled = true;
  setTimeout(flush, THROTTLE_MS);
}

// `=== true`, not truthiness: the page's elements are named properties of the window in
// this isolated world too, so `<div id="__secureMsgContent">` would otherwise switch the
// script off (DOM clobbering).
const loaded = globalThis as { __secureMsgContent?: unknown };
if (document.body && loaded.__secureMsgContent !== true) {
  loaded.__secureMsgContent = true;
  scan(document.body);
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "characterData") queue(r.target);
      else for (const n of Array.from(r.addedNodes)) if (!hosts.has(n)) queue(n);
    }
  }).observe(document.body, { childList: true, subtree: true, characterData: true });
}
