/**
 * What a user does in the popup, step by step, through the accessible names of issue 4
 * (labels and roles, never CSS classes), and a real relay process for the browser tests.
 * Every wait is on something the user would see, bounded by a generous timeout: these
 * tests share two cores with everything else.
 */
import { mkdir } from "node:fs/promises";
import type { Locator, Page } from "playwright-core";
import { type RelayProcess, startRelay } from "../integration/helpers.js";

/** Key generation and Argon2id (64 MiB, t=3) in the browser: seconds, more on a busy machine. */
export const SLOW = 90_000;
/** A request to the worker (and on to the relay). */
export const QUICK = 30_000;

/**
 * Every e2e run saves its screenshots under .ci/out/screenshots/ (CI keeps them). The
 * README's copies in docs/screenshots/ change only on purpose: `npm run screenshots`
 * (UPDATE_SCREENSHOTS=1) writes there instead, so a test run leaves the tree clean.
 */
export const SCREENSHOTS = new URL(
  process.env.UPDATE_SCREENSHOTS === "1" ? "../../docs/screenshots/" : "../../.ci/out/screenshots/",
  import.meta.url,
);

/** Saves the popup as NAME.png in SCREENSHOTS (the README shows these); names are stable. */
export async function screenshot(popup: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await popup.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname });
}

/**
 * A relay on 127.0.0.1: on the default port 8787 when it is free (so addresses in the
 * screenshots read as a user's would), otherwise on any free port. The extension reaches
 * any loopback port: its default watchlist (`http://127.0.0.1/*`) already grants that host.
 */
export async function startTestRelay(dataDir: string): Promise<RelayProcess> {
  try {
    return await startRelay(dataDir, 8787);
  } catch {
    return startRelay(dataDir, 0);
  }
}

/** Waits for `locator`; on failure, says what the popup showed instead. */
export async function see(popup: Page, locator: Locator, timeout = QUICK): Promise<void> {
  try {
    await locator.waitFor({ timeout });
  } catch (e) {
    const body = popup.locator("body");
    // biome-ignore lint/performance/useDomNodeTextContent: what the user sees
    const shown = await body.innerText().catch(() => "(closed)");
    throw new Error(`waited for ${locator}; the popup shows:\n${shown}`, { cause: e });
  }
}

export const heading = (popup: Page, name: string) =>
  popup.getByRole("heading", { name, exact: true });

/** Onboarding: Relay URL, Name, Password, Confirm password, Create account; ends in the inbox. */
export async function createAccount(
  popup: Page,
  a: { relay: string; name: string; password: string },
  beforeSubmit?: () => Promise<void>,
): Promise<void> {
  // The form is filled only once it has rendered (the popup asks the worker first).
  await see(popup, heading(popup, "Create your account"));
  await popup.getByLabel("Relay URL").fill(a.relay);
  await popup.getByLabel("Name", { exact: true }).fill(a.name);
  await popup.getByLabel("Password", { exact: true }).fill(a.password);
  await popup.getByLabel("Confirm password").fill(a.password);
  await beforeSubmit?.();
  await popup.getByRole("button", { name: "Create account" }).click();
  await see(popup, heading(popup, "Inbox"), SLOW);
}

/** Unlock: Password, Unlock. */
export async function unlock(popup: Page, password: string): Promise<void> {
  await see(popup, heading(popup, "Unlock"));
  await popup.getByLabel("Password", { exact: true }).fill(password);
  await popup.getByRole("button", { name: "Unlock" }).click();
}

/** A main tab: Inbox, Contacts or Settings. */
export async function tab(popup: Page, name: "Inbox" | "Contacts" | "Settings"): Promise<void> {
  await popup.getByRole("navigation", { name: "Main" }).getByRole("button", { name }).click();
  await see(popup, heading(popup, name));
}

/** The item of one contact in the Contacts list. */
export const contactItem = (popup: Page, address: string) =>
  popup.getByRole("list", { name: "Contacts" }).getByRole("listitem").filter({ hasText: address });

/** Contacts: Address, Add contact; waits for the contact and its safety number, and returns it. */
export async function addContact(popup: Page, address: string): Promise<string> {
  await tab(popup, "Contacts");
  await popup.getByLabel("Address").fill(address);
  await popup.getByRole("button", { name: "Add contact" }).click();
  await see(popup, contactItem(popup, address));
  return safetyNumber(popup, address);
}

/** The safety number the Contacts tab shows for `address` (once it has loaded). */
export async function safetyNumber(popup: Page, address: string): Promise<string> {
  await tab(popup, "Contacts");
  const item = contactItem(popup, address);
  await see(popup, item);
  // The number is the code after the "Safety number" term; "…" until it has loaded.
  const code = item.locator("dt:text-is('Safety number') + dd code");
  await see(popup, code.filter({ hasText: /\d/ }));
  return (await code.textContent())?.trim() ?? "";
}

/** The conversation with `peer` in the inbox list. */
export const conversation = (popup: Page, peer: string) =>
  popup.getByRole("list", { name: "Conversations" }).getByRole("button", { name: peer });

/** Inbox, Check now, until the conversation with `peer` shows `unread` unread messages. */
export async function checkInbox(popup: Page, peer: string, unread: number): Promise<void> {
  await tab(popup, "Inbox");
  const wanted = conversation(popup, peer).filter({ hasText: `${unread} unread` });
  const deadline = Date.now() + QUICK;
  for (;;) {
    await popup.getByRole("button", { name: "Check now" }).click();
    // The button is disabled while the fetch runs.
    await see(popup, popup.getByRole("button", { name: "Check now", disabled: false }));
    if (await wanted.count()) return;
    if (Date.now() > deadline) await see(popup, wanted, 1);
    await popup.waitForTimeout(500);
  }
}

/** The delivery state of an outgoing message the relay has taken: "<time> · sent". */
export const SENT = /·\s*sent$/;

/** The messages of the open thread with `peer`, as the list items (text, time, state). */
export const threadMessages = (popup: Page, peer: string) =>
  popup.getByRole("list", { name: `Messages with ${peer}` }).getByRole("listitem");

/** Waits until the open thread with `peer` shows `n` messages; returns their texts. */
export async function threadTexts(popup: Page, peer: string, n: number): Promise<string[]> {
  await see(popup, threadMessages(popup, peer).nth(n - 1));
  return threadMessages(popup, peer).allTextContents();
}

/** Message, Send in the compose form on screen; waits until the thread shows it as sent. */
export async function sendInThread(popup: Page, peer: string, text: string): Promise<void> {
  await popup.getByLabel("Message", { exact: true }).fill(text);
  await popup.getByRole("button", { name: "Send" }).click();
  await see(popup, threadMessages(popup, peer).filter({ hasText: text }).filter({ hasText: SENT }));
}
