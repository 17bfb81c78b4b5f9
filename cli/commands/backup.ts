/**
 * `backup export` and `backup import` (docs/protocol.md §14): an encrypted file holding the
 * whole account, and a new profile restored from one. A restore retires every session, so
 * the first message to each contact starts a new one (§14.4).
 */
import { randomBytes } from "node:crypto";
import { link, open, readFile, rmdir, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Command } from "commander";
import { backupInput, MAX_BACKUP_BYTES, restoreBackup } from "../../protocol/backup.js";
import { wipe } from "../../protocol/bytes.js";
import { profileOption } from "../options.js";
import { labelled, note, out, profileArg } from "../output.js";
import {
  askPassword,
  checkNewPassword,
  checkNewProfileFolder,
  kdfFromEnv,
  PASSWORD_ENV,
  withProfile,
} from "../profile.js";
import { ProfileStorage } from "../profile-storage.js";
import { UsageError } from "../usage-error.js";

export const BACKUP_PASSWORD_ENV = "SECURE_MSG_BACKUP_PASSWORD";
/** A backup file, binary or armored, is read up to this size. */
const MAX_FILE_BYTES = 2 * MAX_BACKUP_BYTES;

export const BACKUP_HELP = `
The backup holds your identity and prekey secrets, contacts, relay pins, sessions and
message history, encrypted under the backup password (Argon2id, AES-256-GCM). Whoever has
the file and that password can read your history and act as you: choose a long password
and keep the file as safe as the profile. The backup password comes from
${BACKUP_PASSWORD_ENV} or a prompt; the profile password from SECURE_MSG_PASSWORD.

'backup import' creates a new profile, with its own password. Restored sessions are kept
only to read messages still on their way: the next message to each contact starts a new
session, so no message key is ever used twice. Answers to messages sent after the backup
was made cannot be read.
`;

export function addBackupCommands(program: Command): void {
  const backup = program
    .command("backup")
    .description("export the account to an encrypted file, or restore a profile from one");
  backup
    .command("export")
    .description("write an encrypted backup of the profile to FILE (mode 0600, never overwritten)")
    .addOption(profileOption())
    .requiredOption("--out <file>", "the backup file to create")
    .addHelpText("after", BACKUP_HELP)
    .action(exportCommand);
  backup
    .command("import")
    .description("create a new profile from an encrypted backup file")
    .addOption(profileOption())
    .requiredOption("--in <file>", "the backup file (binary, or BACKUP armor)")
    .addHelpText("after", BACKUP_HELP)
    .action(importCommand);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Writes `data` to `path` only if nothing is there: a 0600 temporary file in the same
 * folder, synced, then hard-linked into place (link fails on an existing name, so a file
 * appearing meanwhile is not overwritten either), then the temporary name removed.
 */
async function writeNewFile(path: string, data: Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", 0o600).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write in ${dirname(path)} (${e.code ?? "error"})`);
  });
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    // A failed write (a full disk) must not leave part of a backup behind.
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await link(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST")
      throw new UsageError(`${path} exists: choose a new file name`);
    throw e;
  } finally {
    await unlink(tmp);
  }
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

async function exportCommand(o: { profile: string; out: string }): Promise<void> {
  if (await exists(o.out)) throw new UsageError(`${o.out} exists: choose a new file name`);
  const kdf = kdfFromEnv();
  await withProfile(o.profile, async (client) => {
    const password = checkNewPassword(
      await askPassword({
        envVar: BACKUP_PASSWORD_ENV,
        prompt: "Backup password: ",
        confirm: true,
      }),
    );
    const file = await client.exportBackup(password, kdf);
    await writeNewFile(o.out, file);
    out(
      labelled([
        ["address", client.address],
        ["fingerprint", client.fingerprint],
        ["file", o.out],
        ["bytes", String(file.length)],
      ]),
    );
    note(`wrote an encrypted backup of ${client.address} to ${o.out}`);
  });
}

/** The file as bytes, or as text when it is armor rather than a binary backup. */
async function readBackupFile(path: string): Promise<Uint8Array | string> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new UsageError(`cannot read ${path}`);
  }
  if (size > MAX_FILE_BYTES) throw new UsageError(`${path} is larger than a backup can be`);
  return backupInput(new Uint8Array(await readFile(path)));
}

async function importCommand(o: { profile: string; in: string }): Promise<void> {
  const input = await readBackupFile(o.in);
  const kdf = kdfFromEnv();
  const existed = await checkNewProfileFolder(o.profile);
  const backupPassword = await askPassword({
    envVar: BACKUP_PASSWORD_ENV,
    prompt: "Backup password: ",
  });
  const password = checkNewPassword(
    await askPassword({
      envVar: PASSWORD_ENV,
      prompt: "New password for the profile: ",
      confirm: true,
    }),
  );
  const storage = await ProfileStorage.open(o.profile, { create: true });
  let restored: Awaited<ReturnType<typeof restoreBackup>>;
  try {
    restored = await restoreBackup(storage, input, backupPassword, {
      newPassword: password,
      kdf,
    });
  } catch (e) {
    // Leave no empty folder behind, as `init` does.
    await storage.close();
    if (!existed) await rmdir(o.profile).catch(() => undefined);
    throw e;
  }
  wipe(restored.dek);
  await storage.close();
  out(
    labelled([
      ["address", restored.address],
      ["fingerprint", restored.fingerprint],
      ["contacts", String(restored.contacts)],
      ["messages", String(restored.messages)],
      ["sessions", `${restored.sessions} (receive only)`],
    ]),
  );
  note(
    `restored ${restored.address} into ${o.profile}. The next message to each contact ` +
      "starts a new session. Check your contacts with " +
      `'secure-msg contacts list --profile ${profileArg(o.profile)}'`,
  );
}
