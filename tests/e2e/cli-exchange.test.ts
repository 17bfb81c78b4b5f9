/**
 * A CLI user and an extension user talk (issue 4, "Tests"): the compiled `secure-msg` CLI
 * (tests/global-setup.ts builds it) and the extension in Chromium share one real relay
 * process on 127.0.0.1. Each side starts a conversation once, so both implementations
 * open a session and answer in one: carol (CLI) writes first to alice (extension), and
 * alice writes first to dave (CLI). Both sides compute the same safety number.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cli, killAll, ok, type RelayProcess, startRelay } from "../integration/helpers.js";
import { extensionDist } from "./build.js";
import {
  addContact,
  checkInbox,
  conversation,
  createAccount,
  heading,
  SENT,
  SLOW,
  safetyNumber,
  see,
  sendInThread,
  tab,
  threadTexts,
} from "./flows.js";
import { browserMissing, type ExtensionBrowser, launchExtension } from "./harness.js";

interface Received {
  from: string;
  text: string;
  verified: boolean;
}

describe.skipIf(browserMissing())("a CLI user and an extension user (Chromium, real relay)", () => {
  let root: string;
  let relay: RelayProcess;
  let browser: ExtensionBrowser;
  let popup: Page;
  let alice: string;

  /** A CLI profile registered at the relay. */
  async function cliUser(name: string): Promise<{ dir: string; address: string }> {
    const dir = join(root, name);
    await ok(["init", "--profile", dir, "--name", name, "--relay", relay.url]);
    const registered = await ok(["register", "--profile", dir]);
    expect(registered.stdout).toContain(`relay fingerprint: ${relay.fingerprint}\n`);
    return { dir, address: `${name}@${relay.host}` };
  }

  const send = async (dir: string, to: string, text: string) => {
    const r = await cli(["send", "--profile", dir, "--to", to], { input: text });
    expect(r.code, r.stderr).toBe(0);
  };

  async function inbox(dir: string): Promise<Received[]> {
    const r = await ok(["inbox", "--profile", dir, "--json"]);
    return r.stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Received);
  }

  /** The safety number the CLI prints for a contact. */
  async function cliSafetyNumber(dir: string, who: string): Promise<string> {
    const r = await ok(["fingerprint", "--profile", dir, who]);
    return /^safety number: (.+)$/m.exec(r.stdout)?.[1] ?? "";
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "secure-msg-e2e-cli-"));
    // Any free port: the default one is left to the messaging test's screenshots.
    relay = await startRelay(join(root, "relay"));
    alice = `alice@${relay.host}`;
    browser = await launchExtension(extensionDist("chrome"));
    popup = await browser.openPopup();
    await createAccount(popup, { relay: relay.url, name: "alice", password: "alice's password" });
  }, 2 * SLOW);

  afterAll(async () => {
    await browser?.close();
    await relay?.stop();
    killAll();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it(
    "the CLI writes first; the extension reads it and answers",
    async () => {
      const carol = await cliUser("carol");
      await ok(["contacts", "add", "--profile", carol.dir, alice]);
      await send(carol.dir, alice, "Hello alice, this is carol on the command line.");

      // The extension has never heard of carol: the first message introduces her.
      await checkInbox(popup, carol.address, 1);
      await conversation(popup, carol.address).click();
      const [first] = await threadTexts(popup, carol.address, 1);
      expect(first).toContain("Hello alice, this is carol on the command line.");
      await sendInThread(popup, carol.address, "Hi carol, alice from the browser.");

      // carol added alice by address, but has not compared safety numbers: not verified.
      expect(await inbox(carol.dir)).toEqual([
        expect.objectContaining({
          from: alice,
          text: "Hi carol, alice from the browser.",
          verified: false,
        }),
      ]);
      // A second turn each way, on the session both sides now hold.
      await send(carol.dir, alice, "Got it. One more from the CLI.");
      await checkInbox(popup, carol.address, 1);
      await conversation(popup, carol.address).click();
      await threadTexts(popup, carol.address, 3);
      await sendInThread(popup, carol.address, "And one more from the browser.");
      expect((await inbox(carol.dir)).map((m) => m.text)).toEqual([
        "And one more from the browser.",
      ]);

      // Both implementations derive the same safety number.
      expect(await safetyNumber(popup, carol.address)).toBe(
        await cliSafetyNumber(carol.dir, alice),
      );
    },
    SLOW,
  );

  it(
    "the extension writes first; the CLI reads it and answers",
    async () => {
      const dave = await cliUser("dave");
      const shown = await addContact(popup, dave.address);

      await tab(popup, "Inbox");
      await popup.getByRole("button", { name: "New message" }).click();
      await popup.getByLabel("To").fill(dave.address);
      await popup.getByLabel("Message", { exact: true }).fill("Hello dave, alice here.");
      await popup.getByRole("button", { name: "Send" }).click();
      await see(popup, heading(popup, dave.address));
      const [sent] = await threadTexts(popup, dave.address, 1);
      expect(sent).toMatch(SENT);

      const received = await inbox(dave.dir);
      expect(received.map((m) => [m.from, m.text])).toEqual([[alice, "Hello dave, alice here."]]);
      // The first message made alice dave's contact, with the number alice's popup shows.
      expect(await cliSafetyNumber(dave.dir, alice)).toBe(shown);
      await send(dave.dir, alice, "Hi alice, dave answering from the CLI.");
      await checkInbox(popup, dave.address, 1);
      await conversation(popup, dave.address).click();
      const texts = await threadTexts(popup, dave.address, 2);
      expect(texts[1]).toContain("Hi alice, dave answering from the CLI.");
    },
    SLOW,
  );
});
