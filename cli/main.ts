#!/usr/bin/env node
/**
 * The `secure-msg` command: argv to handlers (commands.ts for the offline commands,
 * commands/ for the relay and the commands that use one), failures to exit codes (exit.ts).
 * Wiring only.
 */
import { createRequire } from "node:module";
import { Command } from "commander";
import { addBackupCommands } from "./commands/backup.js";
import { addOnlineCommands } from "./commands/online.js";
import { addRelayCommand } from "./commands/relay.js";
import * as cmd from "./commands.js";
import { commanderOutput, report, watchStdout } from "./exit.js";
import { ENVIRONMENT, KDF_KNOB } from "./help.js";
import { useNodeCrypto } from "./node-crypto.js";
import { acceptRelayKeyOption, profileOption as profile } from "./options.js";

// Node has AES-256-GCM, SHA-256/HMAC and X25519 of its own: the protocol uses them rather
// than WebCrypto's async jobs and JavaScript hashes (cli/node-crypto.ts).
useNodeCrypto();

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

const program = new Command("secure-msg")
  .description(
    "Post-quantum end-to-end encrypted messages, through a relay or exchanged as armored text.",
  )
  .version(version)
  .exitOverride()
  .configureOutput(commanderOutput)
  .addHelpText("after", ENVIRONMENT);

program
  .command("init")
  .description("create a profile: identity and prekey, encrypted at rest with a password")
  .addOption(profile())
  .requiredOption("--name <name>", "your user name: a-z, 0-9, '.', '_', '-'")
  .option("--relay <url>", "your relay, e.g. http://127.0.0.1:8787 (part of your address)")
  .addHelpText("after", KDF_KNOB)
  .action(cmd.init);

program
  .command("whoami")
  .description("print this profile's name, address and fingerprint")
  .addOption(profile())
  .action(cmd.whoami);

program
  .command("bundle")
  .description("print this profile's signed public bundle, to give to contacts")
  .addOption(profile())
  .action(cmd.bundle);

const contacts = program.command("contacts").description("manage contacts");

contacts
  .command("add [address-or-file]")
  .description(
    "add a contact: fetch name@host[:port] (or a name at your relay) from its relay, " +
      "verified, or import a bundle from FILE or stdin",
  )
  .addOption(profile())
  .option("--accept-changed", "accept a changed identity key (after re-verifying it)")
  .addOption(acceptRelayKeyOption())
  .action(cmd.contactsAdd);

contacts
  .command("list")
  .description("list contacts")
  .addOption(profile())
  .option("--json", "print a JSON array of {address, name, relay, fingerprint, verified}")
  .action(cmd.contactsList);

contacts
  .command("verify <name>")
  .description("mark a contact verified, after comparing the safety number with them")
  .addOption(profile())
  .action(cmd.contactsVerify);

contacts
  .command("reset <name>")
  .description("start a new session with a contact (after restoring a profile folder from a copy)")
  .addOption(profile())
  .action(cmd.contactsReset);

program
  .command("fingerprint <name>")
  .description("print a contact's fingerprint and your safety number with them")
  .addOption(profile())
  .action(cmd.fingerprint);

program
  .command("encrypt")
  .description("encrypt stdin (UTF-8 text, at most 1 MiB) for a contact; armor on stdout")
  .addOption(profile())
  .requiredOption("--to <name>", "the contact's name or address")
  .option("--compact", "one-line armor, for single-line fields")
  .action(cmd.encrypt);

program
  .command("decrypt")
  .description("decrypt armor from stdin; plaintext on stdout, the sender on stderr")
  .addOption(profile())
  .action(cmd.decrypt);

program
  .command("passwd")
  .description("change the password (old one from SECURE_MSG_PASSWORD or a prompt)")
  .addOption(profile())
  .addHelpText("after", KDF_KNOB)
  .action(cmd.passwd);

addOnlineCommands(program);
addBackupCommands(program);
addRelayCommand(program);

watchStdout();
try {
  await program.parseAsync(process.argv);
} catch (e) {
  process.exitCode = report(e);
}
