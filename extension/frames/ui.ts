/**
 * Small DOM helpers shared by the chooser window and the compose frame. Everything is
 * rendered with textContent, never as HTML.
 */
import type { Contact } from "../../protocol/contacts.js";

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Pick<HTMLElementTagNameMap[K], "className" | "textContent" | "id">> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  Object.assign(e, props);
  e.append(...children);
  return e;
}

/** The insertion id in the page's URL fragment (`#<id>`), or "" for none. */
export function insertionId(): string {
  const id = location.hash.slice(1);
  return /^[A-Za-z0-9_-]{16,64}$/.test(id) ? id : "";
}

/** A contact as the user knows it: "Bob (bob@relay)". */
export function contactLabel(c: Contact): string {
  return c.name && c.name !== c.address ? `${c.name} (${c.address})` : c.address;
}

/** The calm line shown for a failure, by error code. */
export function problemText(code: string | undefined): string {
  switch (code) {
    case "LOCKED":
      return "SECURE-MSG is locked. Unlock it first.";
    case "NO_ACCOUNT":
      return "Create a SECURE-MSG account first (click the toolbar icon).";
    case "PAGE_CHANGED":
      return "The text field changed, or the page was left. Nothing was inserted.";
    case "UNKNOWN_INSERTION":
      return "This request has ended. Start again from the page.";
    case "NO_ACCESS":
      return "SECURE-MSG cannot work on this page (a browser page or a protected site).";
    case "NO_FIELD":
      return "Click into a text field on the page first, then try again.";
    case "NO_SELECTION":
      return "Select the text to encrypt in the field first, then try again.";
    case "IDENTITY_CHANGED":
      return "This contact's identity key has changed. Review it in SECURE-MSG first.";
    case "UNKNOWN_CONTACT":
      return "No contact by that address.";
    case "INVALID_ARGUMENT":
      return "Write a message first.";
    default:
      return `Something went wrong (${code ?? "UNKNOWN"}).`;
  }
}

/** The error code of a failure from `sendRequest`. */
export function codeOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
