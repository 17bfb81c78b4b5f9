/**
 * Two people message each other through the popup (issue 4, "Tests"): Alice and Bob each
 * have their own Chromium profile with the extension loaded, and a real relay process on
 * 127.0.0.1 between them. They create accounts, add each other by address and see the same
 * safety number, exchange messages both ways (inbox with unread counts, thread with the
 * text and its delivery state), lock and unlock (a wrong password fails clearly), and lose
 * nothing when Bob's service worker is stopped or his browser restarts. A message written
 * while the relay is down is queued, and sent once the relay is back.
 *
 * The tests run in order and share the two browsers. Screenshots of the main screens go
 * to docs/screenshots/ at the popup's size (380×600), for the README.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAll, type RelayProcess, startRelay } from "../integration/helpers.js";
import { extensionDist } from "./build.js";
import {
  addContact,
  checkInbox,
  contactItem,
  conversation,
  createAccount,
  heading,
  QUICK,
  SENT,
  SLOW,
  safetyNumber,
  screenshot,
  see,
  sendInThread,
  startTestRelay,
  tab,
  threadMessages,
  threadTexts,
  unlock,
} from "./flows.js";
import { browserMissing, type ExtensionBrowser, launchExtension } from "./harness.js";

const ALICE_PASSWORD = "alice's long password";
const BOB_PASSWORD = "bob's long password";

/** The toolbar badge (the unread count), as the worker set it. */
async function badge(b: ExtensionBrowser): Promise<string> {
  return (await b.currentWorker()).evaluate(() => chrome.action.getBadgeText({}));
}

describe.skipIf(browserMissing())("messaging through the popup (Chromium, real relay)", () => {
  let root: string;
  let relay: RelayProcess;
  let alice: ExtensionBrowser;
  let bob: ExtensionBrowser;
  /** Bob's profile folder, kept across his browser restart. */
  let bobProfile: string;
  let a: Page;
  let b: Page;
  let aliceAddress: string;
  let bobAddress: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "secure-msg-e2e-messaging-"));
    bobProfile = join(root, "bob-profile");
    relay = await startTestRelay(join(root, "relay"));
    aliceAddress = `alice@${relay.host}`;
    bobAddress = `bob@${relay.host}`;
    alice = await launchExtension(extensionDist("chrome"));
    bob = await launchExtension(extensionDist("chrome"), { userDataDir: bobProfile });
  }, SLOW);

  afterAll(async () => {
    await alice?.close();
    await bob?.close();
    await relay?.stop();
    killAll();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it(
    "creates both accounts through the popup and registers them at the relay",
    async () => {
      a = await alice.openPopup();
      b = await bob.openPopup();
      await see(a, heading(a, "Create your account"));
      // The relay offered by default is the local one.
      await expect
        .poll(() => a.getByLabel("Relay URL").inputValue(), { timeout: QUICK })
        .toBe("http://127.0.0.1:8787");
      await createAccount(a, { relay: relay.url, name: "alice", password: ALICE_PASSWORD }, () =>
        screenshot(a, "onboarding"),
      );
      await createAccount(b, { relay: relay.url, name: "bob", password: BOB_PASSWORD });
      expect(await a.getByRole("button", { name: "Lock" }).count()).toBe(1);

      // Settings names the address and the relay, and the relay's fingerprint: it is known
      // only after registering there, and it is the one the relay printed.
      for (const [popup, address] of [
        [a, aliceAddress],
        [b, bobAddress],
      ] as const) {
        await tab(popup, "Settings");
        await see(popup, popup.getByText(address, { exact: true }).first());
        await see(popup, popup.getByText(relay.url, { exact: true }).first());
        await see(popup, popup.getByText(relay.fingerprint, { exact: true }).first());
      }
      await screenshot(a, "settings");
    },
    2 * SLOW,
  );

  it(
    "adds each other by address; both see the same safety number",
    async () => {
      const seenByAlice = await addContact(a, bobAddress);
      const seenByBob = await addContact(b, aliceAddress);
      expect(seenByAlice).toMatch(/\d/);
      expect(seenByAlice).toBe(seenByBob);
      await expect(a.getByLabel("Address").inputValue()).resolves.toBe("");
      await screenshot(a, "contacts");
      // Bob has compared the number with Alice: he marks her verified.
      const aliceItem = contactItem(b, aliceAddress);
      await aliceItem.getByRole("button", { name: "Mark verified" }).click();
      await see(b, aliceItem.getByText("Verified", { exact: true }));
    },
    SLOW,
  );

  it(
    "sends and receives in both directions",
    async () => {
      // Alice writes to Bob from the inbox: New message, To, Message, Send.
      await tab(a, "Inbox");
      await a.getByRole("button", { name: "New message" }).click();
      await a.getByLabel("To").fill(bobAddress);
      await a.getByLabel("Message", { exact: true }).fill("Hi Bob, the keys are under the mat.");
      await screenshot(a, "compose");
      await a.getByRole("button", { name: "Send" }).click();
      // Sending opens the thread, where the message shows as sent (taken by the relay).
      const aliceThread = threadMessages(a, bobAddress);
      await see(a, aliceThread.filter({ hasText: "Hi Bob, the keys are under the mat." }));
      await see(a, aliceThread.filter({ hasText: SENT }));

      // Bob's inbox: one conversation with one unread message; the badge says so too.
      await checkInbox(b, aliceAddress, 1);
      expect(await badge(bob)).toBe("1");
      await screenshot(b, "inbox");
      await conversation(b, aliceAddress).click();
      const bobThread = threadMessages(b, aliceAddress);
      await see(b, bobThread.filter({ hasText: "Hi Bob, the keys are under the mat." }));
      // Opening the thread marks it read.
      await expect.poll(() => badge(bob), { timeout: QUICK }).toBe("");

      // Bob answers in the thread; Alice gets the answer.
      await sendInThread(b, aliceAddress, "Thanks Alice, got them.");
      await checkInbox(a, bobAddress, 1);
      await conversation(a, bobAddress).click();
      await see(a, aliceThread.filter({ hasText: "Thanks Alice, got them." }));
      // Both messages, in order, each with its time; only Alice's own has a delivery state.
      const shown = await aliceThread.allTextContents();
      expect(shown).toHaveLength(2);
      expect(shown[0]).toContain("Hi Bob, the keys are under the mat.");
      expect(shown[0]).toMatch(SENT);
      expect(shown[1]).toContain("Thanks Alice, got them.");
      expect(shown[1]).not.toMatch(SENT);
      expect(await aliceThread.locator("time").count()).toBe(2);
      await screenshot(a, "thread");

      // Inbox is read now.
      await tab(a, "Inbox");
      await see(a, conversation(a, bobAddress));
      expect(await conversation(a, bobAddress).filter({ hasText: "unread" }).count()).toBe(0);
    },
    SLOW,
  );

  it(
    "locks and unlocks; a wrong password fails with a clear message",
    async () => {
      await a.getByRole("button", { name: "Lock" }).click();
      await see(a, heading(a, "Unlock"));
      await screenshot(a, "unlock");
      // Locked means locked for every page of the extension, not just this popup.
      const again = await alice.openPopup();
      await see(again, heading(again, "Unlock"));
      await again.close();

      await unlock(a, "not alice's password");
      const error = a.getByRole("alert");
      await see(a, error, SLOW);
      expect(await error.textContent()).toBe("Wrong password. Please try again. (WRONG_PASSWORD)");
      // Still locked, the field cleared for another try, and no stack trace anywhere.
      await see(a, heading(a, "Unlock"));
      expect(await a.getByLabel("Password", { exact: true }).inputValue()).toBe("");
      // biome-ignore lint/performance/useDomNodeTextContent: what the user sees
      expect(await a.locator("body").innerText()).not.toMatch(/\bat \S+:\d+|Error:/);

      await unlock(a, ALICE_PASSWORD);
      await see(a, heading(a, "Inbox"), SLOW);
      await see(a, conversation(a, bobAddress));
      await conversation(a, bobAddress).click();
      expect(await threadTexts(a, bobAddress, 2)).toHaveLength(2);
    },
    SLOW,
  );

  it(
    "stopping the service worker loses nothing, and it stays unlocked",
    async () => {
      const before = await bob.currentWorker();
      await before.evaluate(() => {
        (globalThis as { beforeStop?: boolean }).beforeStop = true;
      });
      await bob.stopWorker();

      // A new popup wakes the worker: unlocked (the DEK is in storage.session), history intact.
      await b.close();
      b = await bob.openPopup();
      await see(b, heading(b, "Inbox"), SLOW);
      const worker = await bob.currentWorker();
      // A fresh worker: its globals are new.
      expect(
        await worker.evaluate(() => (globalThis as { beforeStop?: boolean }).beforeStop ?? false),
      ).toBe(false);
      await see(b, conversation(b, aliceAddress));
      await conversation(b, aliceAddress).click();
      expect(await threadTexts(b, aliceAddress, 2)).toHaveLength(2);
      expect(await safetyNumber(b, aliceAddress)).toMatch(/\d/);

      // The restarted worker sends (the session with Alice goes on) and receives.
      await tab(b, "Inbox");
      await conversation(b, aliceAddress).click();
      await sendInThread(b, aliceAddress, "Sent after my worker restarted.");
      await checkInbox(a, bobAddress, 1);
      await conversation(a, bobAddress).click();
      await see(
        a,
        threadMessages(a, bobAddress).filter({ hasText: "Sent after my worker restarted." }),
      );
      await sendInThread(a, bobAddress, "Received it.");
      await checkInbox(b, aliceAddress, 1);
    },
    SLOW,
  );

  it(
    "restarting the browser loses nothing; the password unlocks it again",
    async () => {
      await bob.close();
      // Alice writes while Bob's browser is closed: the relay keeps it for him.
      await sendInThread(a, bobAddress, "Written while you were away.");

      bob = await launchExtension(extensionDist("chrome"), { userDataDir: bobProfile });
      b = await bob.openPopup();
      // The browser's restart cleared storage.session: the account is locked.
      await unlock(b, BOB_PASSWORD);
      await see(b, heading(b, "Inbox"), SLOW);
      await checkInbox(b, aliceAddress, 2);
      await conversation(b, aliceAddress).click();
      // All five messages, in the order they were written (each item is the text, then the
      // time and, for Bob's own, the delivery state).
      const history = [
        "Hi Bob, the keys are under the mat.",
        "Thanks Alice, got them.",
        "Sent after my worker restarted.",
        "Received it.",
        "Written while you were away.",
      ];
      const shown = await threadTexts(b, aliceAddress, history.length);
      expect(shown.map((t) => history.find((h) => t.startsWith(h)))).toEqual(history);
      // The contact, its safety number, and that Bob verified it, are still there.
      expect(await safetyNumber(b, aliceAddress)).toBe(await safetyNumber(a, bobAddress));
      await see(b, contactItem(b, aliceAddress).getByText("Verified", { exact: true }));

      await tab(b, "Inbox");
      await conversation(b, aliceAddress).click();
      await sendInThread(b, aliceAddress, "Back after a browser restart.");
      await checkInbox(a, bobAddress, 1);
    },
    2 * SLOW,
  );

  it(
    "a message written while the relay is down is queued, and sent once it is back",
    async () => {
      const { port } = relay;
      expect(await relay.stop()).toBe(0);
      // Bob is still in his thread with Alice.
      const text = "Written while the relay was down.";
      await b.getByLabel("Message", { exact: true }).fill(text);
      await b.getByRole("button", { name: "Send" }).click();
      const mine = threadMessages(b, aliceAddress).filter({ hasText: text });
      await see(b, mine.filter({ hasText: /·\s*queued/ }));
      await see(b, b.getByRole("status").filter({ hasText: "sent when the relay is reachable" }));

      // The same relay (its data folder and keys) comes back on the same address.
      relay = await startRelay(join(root, "relay"), port);
      await tab(b, "Inbox");
      await b.getByRole("button", { name: "Check now" }).click();
      await see(b, b.getByRole("button", { name: "Check now", disabled: false }));
      await conversation(b, aliceAddress).click();
      await see(b, mine.filter({ hasText: SENT }));
      // Alice had not opened Bob's previous message yet: two unread.
      await checkInbox(a, bobAddress, 2);
      await conversation(a, bobAddress).click();
      await see(a, threadMessages(a, bobAddress).filter({ hasText: text }));
    },
    SLOW,
  );
});
