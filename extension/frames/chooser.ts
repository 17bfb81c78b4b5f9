/**
 * The chooser window for "Encrypt selection for…" (extension/background/insertions.ts):
 * an extension page in a window of its own, opened by the worker, where the user picks
 * the contact, after unlocking if needed. It shows the selected text as the worker read it
 * from the page: the page controls what its field holds and how it is drawn, so this
 * window, which no page can reach, is where the user sees what will be encrypted and
 * signed in their name. The worker encrypts exactly that text, and replaces it with the
 * armor only if the page still holds it. It also tells the user why an action could not
 * start (`#problem=CODE`), so a menu click never fails silently.
 */
import type { Contact } from "../../protocol/contacts.js";
import { sendRequest } from "../shared/messages.js";
import { codeOf, contactLabel, el, insertionId, problemText } from "./ui.js";

const out = document.getElementById("out") ?? document.body;
const PREVIEW_STYLE =
  "margin: 0 0 8px; padding: 6px 8px; max-height: 160px; overflow: auto; " +
  "white-space: pre-wrap; overflow-wrap: anywhere; border-left: 3px solid #9a9db0; " +
  "background: #f1f2f6;";

function show(...nodes: Node[]): void {
  out.replaceChildren(...nodes);
}

function closeButton(): HTMLButtonElement {
  const b = el("button", { textContent: "Close" });
  b.type = "button";
  b.addEventListener("click", () => window.close());
  return b;
}

function failure(code: string | undefined): void {
  show(
    el("p", { className: "error" }, problemText(code)),
    el("div", { className: "row" }, closeButton()),
  );
  document.querySelector<HTMLElement>(".row button")?.focus();
}

/** Asks for the password; resolves once the account is unlocked. */
function unlock(): Promise<void> {
  return new Promise((resolve) => {
    const password = el("input");
    password.type = "password";
    password.required = true;
    password.autocomplete = "current-password";
    const error = el("p", { className: "error" });
    error.setAttribute("role", "alert");
    const submit = el("button", { className: "primary", textContent: "Unlock" });
    submit.type = "submit";
    const form = el(
      "form",
      {},
      el("p", { className: "note" }, "SECURE-MSG is locked. Unlock it to encrypt."),
      el("label", {}, "Password", password),
      error,
      el("div", { className: "row" }, submit),
    );
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      submit.disabled = true;
      error.textContent = "";
      try {
        await sendRequest({ type: "unlock", password: password.value });
        resolve();
      } catch (err) {
        const code = codeOf(err);
        error.textContent =
          code === "WRONG_PASSWORD" ? "Wrong password. Please try again." : problemText(code);
        submit.disabled = false;
      }
    });
    show(el("h1", {}, "Encrypt selection for…"), form);
    password.focus();
  });
}

/** The text to encrypt, as text (never HTML), scrollable when long. */
function preview(text: string): HTMLElement {
  const quote = el("blockquote", { className: "preview", textContent: text });
  quote.setAttribute("style", PREVIEW_STYLE);
  const label = el("p", { className: "hint", id: "preview-label" }, "Text to encrypt:");
  quote.setAttribute("aria-labelledby", "preview-label");
  return el("div", {}, label, quote);
}

function choose(id: string, site: string, text: string, contacts: Contact[]): void {
  const error = el("p", { className: "error" });
  error.setAttribute("role", "alert");
  const list = el("ul", { className: "contacts" });
  list.setAttribute("aria-label", "Contacts");
  const buttons: HTMLButtonElement[] = [];
  for (const c of contacts) {
    const b = el("button", { textContent: contactLabel(c) });
    b.type = "button";
    b.addEventListener("click", async () => {
      for (const x of buttons) x.disabled = true;
      error.textContent = "";
      try {
        await sendRequest({ type: "encryptSelection", id, to: c.address });
        show(el("p", { className: "note" }, "Done: the selection is now encrypted."));
        window.close();
      } catch (err) {
        const code = codeOf(err);
        if (code === "PAGE_CHANGED" || code === "UNKNOWN_INSERTION") return failure(code);
        error.textContent = problemText(code);
        for (const x of buttons) x.disabled = false;
      }
    });
    buttons.push(b);
    list.append(el("li", {}, b));
  }
  const cancel = el("button", { textContent: "Cancel" });
  cancel.type = "button";
  cancel.addEventListener("click", async () => {
    await sendRequest({ type: "cancelInsertion", id }).catch(() => null);
    window.close();
  });
  show(
    el("h1", {}, "Encrypt selection for…"),
    el("p", { className: "hint" }, `The selected text on ${site} is replaced with the armor.`),
    preview(text),
    contacts.length > 0
      ? list
      : el("p", { className: "note" }, "No contacts yet: add one in SECURE-MSG first."),
    error,
    el("div", { className: "row" }, cancel),
  );
  buttons[0]?.focus();
}

async function main(): Promise<void> {
  const problem = /^#problem=([A-Z_]+)$/.exec(location.hash)?.[1];
  if (problem) return failure(problem);
  const id = insertionId();
  if (!id) return failure("UNKNOWN_INSERTION");
  try {
    const { site, text = "" } = await sendRequest({ type: "insertion", id });
    const state = await sendRequest({ type: "state" });
    if (state.status === "none") return failure("NO_ACCOUNT");
    if (state.status === "locked") await unlock();
    choose(id, site, text, await sendRequest({ type: "contacts" }));
  } catch (err) {
    failure(codeOf(err));
  }
}

void main();
