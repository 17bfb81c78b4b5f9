/**
 * The secure compose frame (issue 4, "On web pages"): an extension-origin iframe that the
 * worker places below a page's field (insertions.ts). The user types here, so the page's
 * scripts never see the text; the worker encrypts it for the chosen contact and inserts
 * only the armor into the field, then removes this frame. Escape or Cancel closes it.
 * When the account is locked, it offers the popup (in a window) to unlock, and waits.
 */
import type { Contact } from "../../protocol/contacts.js";
import { onLock } from "../shared/lock-signal.js";
import { sendRequest } from "../shared/messages.js";
import { codeOf, contactLabel, el, insertionId, problemText } from "./ui.js";

const out = document.getElementById("out") ?? document.body;
const id = insertionId();
const UNLOCK_POLL_MS = 1000;

function show(...nodes: Node[]): void {
  out.replaceChildren(...nodes);
}

function cancel(): void {
  void sendRequest({ type: "cancelInsertion", id }).catch(() => null);
}

function failure(code: string | undefined): void {
  const close = el("button", { textContent: "Close" });
  close.type = "button";
  close.addEventListener("click", cancel);
  show(el("p", { className: "error" }, problemText(code)), el("div", { className: "row" }, close));
}

/** Offers to unlock in the popup, and resolves once the account is unlocked. */
function waitForUnlock(): Promise<void> {
  return new Promise((resolve) => {
    const open = el("button", { className: "primary", textContent: "Unlock…" });
    open.type = "button";
    open.addEventListener("click", () => void sendRequest({ type: "openUnlock" }));
    show(
      el("p", { className: "note" }, "SECURE-MSG is locked. Unlock it, then write here."),
      el("div", { className: "row" }, open),
    );
    const timer = setInterval(async () => {
      const state = await sendRequest({ type: "state" }).catch(() => null);
      if (state?.status !== "unlocked") return;
      clearInterval(timer);
      resolve();
    }, UNLOCK_POLL_MS);
  });
}

function form(contacts: Contact[], singleLine: boolean): void {
  const to = el("select");
  to.required = true;
  // No contact is preselected: the user picks one in this frame, so a page that covers
  // part of it (it can) cannot pass its own label off as the recipient of a default.
  const none = el("option", { textContent: "Choose a contact…" });
  none.value = "";
  none.disabled = true;
  none.selected = true;
  to.append(none);
  for (const c of contacts) {
    const option = el("option", { textContent: contactLabel(c) });
    option.value = c.address;
    to.append(option);
  }
  const text = el("textarea");
  text.required = true;
  const error = el("p", { className: "error" });
  error.setAttribute("role", "alert");
  const submit = el("button", { className: "primary", textContent: "Encrypt and insert" });
  submit.type = "submit";
  const close = el("button", { textContent: "Cancel" });
  close.type = "button";
  close.addEventListener("click", cancel);
  const f = el(
    "form",
    {},
    el("h1", {}, "Secure compose"),
    el(
      "p",
      { className: "hint" },
      singleLine
        ? "The page never sees what you type here; it gets the one-line armor."
        : "The page never sees what you type here; it gets only the armor.",
    ),
    el("label", {}, "To", to),
    el("label", {}, "Message", text),
    error,
    el("div", { className: "row" }, close, submit),
  );
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!to.value) {
      error.textContent = "Choose the contact to encrypt for.";
      to.focus();
      return;
    }
    submit.disabled = true;
    error.textContent = "";
    try {
      // On success the worker removes this frame with the field's new armor.
      await sendRequest({ type: "composeInsert", id, to: to.value, text: text.value });
    } catch (err) {
      const code = codeOf(err);
      if (code === "PAGE_CHANGED" || code === "UNKNOWN_INSERTION") return failure(code);
      error.textContent = problemText(code);
      submit.disabled = false;
    }
  });
  show(f);
  text.focus();
  current = { text, again: () => form(contacts, singleLine) };
}

/** The form on screen (its draft), for a lock to clear. */
let current: { text: HTMLTextAreaElement; again: () => void } | undefined;

/** A lock takes the draft off the screen; after an unlock the form comes back, empty. */
function clearDraft(): void {
  if (!current) return;
  const { again } = current;
  current.text.value = "";
  current = undefined;
  void waitForUnlock().then(again);
}

async function main(): Promise<void> {
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") cancel();
  });
  onLock(clearDraft);
  if (!id) return failure("UNKNOWN_INSERTION");
  try {
    const { singleLine } = await sendRequest({ type: "insertion", id });
    const state = await sendRequest({ type: "state" });
    if (state.status === "none") return failure("NO_ACCOUNT");
    if (state.status === "locked") await waitForUnlock();
    const contacts = await sendRequest({ type: "contacts" });
    if (contacts.length === 0) {
      show(el("p", { className: "note" }, "No contacts yet: add one in SECURE-MSG first."));
      return;
    }
    form(contacts, singleLine);
  } catch (err) {
    failure(codeOf(err));
  }
}

void main();
