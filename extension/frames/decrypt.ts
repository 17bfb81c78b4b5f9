/**
 * The decrypt frame: shows a message's plaintext from the extension's origin, inside the
 * page, so the page's scripts cannot read it (issue 4, "On web pages"). The armor
 * (ciphertext) comes in the URL fragment; this extension page asks the worker to decrypt
 * it and renders the result as text only (never as HTML).
 */
import { onLock } from "../shared/lock-signal.js";
import { type Decrypted, sendRequest } from "../shared/messages.js";

/** The calm line shown for a failure, by error code. */
export function failureText(code: string | undefined): string {
  if (code === "NOT_FOR_ME" || code === "NO_SESSION") return "This message is not for you.";
  if (code === "TAMPERED" || code?.startsWith("BAD_"))
    return `This message was changed or damaged (${code}).`;
  if (code === "LOCKED") return "Unlock SECURE-MSG to read this message.";
  if (code === "NO_ACCOUNT") return "Create a SECURE-MSG account to read messages.";
  return `This message could not be read (${code ?? "UNKNOWN"}).`;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  e.textContent = text;
  return e;
}

/**
 * Shows a decrypted message. One the user sent (their own armor, shown again from the
 * history) says so: it must never read as coming from the contact it was sent to.
 */
export function renderMessage(out: HTMLElement, m: Decrypted): void {
  const header = document.createElement("header");
  header.append(
    m.direction === "out"
      ? el("span", "from", `You wrote to ${m.peer}`)
      : el("span", "from", `From ${m.peer}`),
    m.verified
      ? el("span", "badge verified", "Verified")
      : el("span", "badge unverified", "Not verified"),
  );
  // A first message from an address not seen before: the address is the sender's own
  // claim (docs/threat-model.md, 3.1), and armor on a page may come from anyone.
  if (m.newContact) header.append(el("span", "note", "New contact: the address is unconfirmed"));
  if (m.again) header.append(el("span", "note", "(read before)"));
  out.replaceChildren(header, el("p", "text", m.text));
}

function readArmor(): string {
  try {
    return decodeURIComponent(location.hash.slice(1));
  } catch {
    return "";
  }
}

let watching = false;

/** After a lock: the plaintext is gone, and a click here (the user's) shows it again. */
function showLocked(out: HTMLElement, again: () => void): void {
  const button = el("button", "again", "Show again");
  button.type = "button";
  button.addEventListener("click", again);
  out.replaceChildren(el("p", "error", failureText("LOCKED")), button);
}

async function main(): Promise<void> {
  const out = document.getElementById("out") ?? document.body;
  const armor = readArmor();
  if (!armor) {
    out.replaceChildren(el("p", "error", "There is no message to show."));
    return;
  }
  try {
    renderMessage(out, await sendRequest({ type: "decryptArmor", armor }));
    // The plaintext leaves the screen when the keys leave memory.
    if (!watching) onLock(() => showLocked(out, () => void main()));
    watching = true;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    // Shown before, then locked (Show again clicked before unlocking): keep the button.
    if (watching && code === "LOCKED") return showLocked(out, () => void main());
    out.replaceChildren(el("p", "error", failureText(typeof code === "string" ? code : undefined)));
  }
}

void main();
