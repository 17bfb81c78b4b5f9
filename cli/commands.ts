/**
 * The handlers of the `secure-msg` commands, one per command; main.ts maps argv to them.
 * Results go to stdout, notes for the user to stderr, failures are thrown (exit.ts).
 * Plaintext is written only after the Client has stored the message it came from.
 */
import { rmdir } from "node:fs/promises";
import { armor, MAX_ARMOR_BYTES } from "../protocol/armor.js";
import { Client } from "../protocol/client.js";
import { checkName } from "../protocol/identity.js";
import { ProfileStorage } from "./profile-storage.js";
import {
  askPassword,
  checkNewPassword,
  checkNewProfileFolder,
  kdfFromEnv,
  NEW_PASSWORD_ENV,
  PASSWORD_ENV,
  withProfile,
} from "./profile.js";
import { readStdin } from "./prompt.js";
import { UsageError } from "./usage-error.js";

/** The largest plaintext `encrypt` accepts. */
export const MAX_PLAINTEXT_BYTES = 1024 * 1024;

export interface ProfileOptions {
  profile: string;
}

export function out(text: string): void {
  process.stdout.write(text);
}

export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** `label: value` lines, for output a person reads and a script can still split. */
export function labelled(fields: [string, string][]): string {
  return fields.map(([k, v]) => `${k}: ${v}\n`).join("");
}

/** How to name this profile in a command we suggest. */
export function profileArg(dir: string): string {
  return /^[\w./@:+-]+$/.test(dir) ? dir : JSON.stringify(dir);
}

export function verifiedNote(dir: string, who: string, verified: boolean): string {
  return verified
    ? `${who} (verified)`
    : `${who} (NOT verified: compare safety numbers with ` +
        `'secure-msg fingerprint --profile ${profileArg(dir)} ${who}')`;
}

/** stdin as text, telling a user at a terminal how to end it. */
export async function readStdinText(what: string, limitBytes: number): Promise<Uint8Array> {
  if (process.stdin.isTTY) note(`Type or paste the ${what}, then press Ctrl-D on a new line.`);
  return readStdin(limitBytes);
}

export async function init(o: ProfileOptions & { name: string }): Promise<void> {
  const name = checkName(o.name);
  const kdf = kdfFromEnv();
  const existed = await checkNewProfileFolder(o.profile);
  const password = checkNewPassword(
    await askPassword({ envVar: PASSWORD_ENV, prompt: "New password: ", confirm: true }),
  );
  const storage = await ProfileStorage.open(o.profile, { create: true });
  let client: Client;
  try {
    client = await Client.create(storage, { name, password }, { kdf });
  } catch (e) {
    // Leave no empty folder behind; rmdir refuses one that holds anything.
    if (!existed) await rmdir(o.profile).catch(() => undefined);
    throw e;
  }
  out(labelled([["name", client.name], ["fingerprint", client.fingerprint]]));
  note(`created profile ${client.address} in ${o.profile}`);
  client.lock();
}

export async function whoami(o: ProfileOptions): Promise<void> {
  await withProfile(o.profile, async (c) => {
    out(
      labelled([
        ["name", c.name],
        ["address", c.address],
        ["fingerprint", c.fingerprint],
      ]),
    );
  });
}

export async function bundle(o: ProfileOptions): Promise<void> {
  await withProfile(o.profile, async (c) => out(c.exportBundle()));
}

export async function passwd(o: ProfileOptions): Promise<void> {
  const kdf = kdfFromEnv();
  await withProfile(
    o.profile,
    async (c, old) => {
      const next = checkNewPassword(
        await askPassword({ envVar: NEW_PASSWORD_ENV, prompt: "New password: ", confirm: true }),
      );
      await c.changePassword(old, next, kdf);
      note("password changed");
    },
    "Current password: ",
  );
}

export async function encrypt(
  o: ProfileOptions & { to: string; compact?: boolean },
): Promise<void> {
  await withProfile(o.profile, async (c) => {
    await c.contact(o.to); // an unknown contact fails before stdin is read
    const bytes = await readStdinText("message", MAX_PLAINTEXT_BYTES);
    if (bytes.length === 0) throw new UsageError("nothing to encrypt: stdin is empty");
    let text: string;
    try {
      // ignoreBOM keeps a leading BOM, so the recipient gets exactly these bytes.
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new UsageError("the message must be UTF-8 text");
    }
    const { envelope } = await c.encrypt(o.to, text);
    out(o.compact ? `${armor("MESSAGE", envelope, { compact: true })}\n` : armor("MESSAGE", envelope));
  });
}

export async function decrypt(o: ProfileOptions): Promise<void> {
  await withProfile(o.profile, async (c) => {
    const input = await readStdinText("message armor", 4 * MAX_ARMOR_BYTES);
    const known = new Set((await c.contacts()).map((k) => k.address));
    const r = await c.decrypt(new TextDecoder().decode(input));
    if (!known.has(r.from)) note(`new contact: ${r.from}`);
    note(`from ${verifiedNote(o.profile, r.from, r.verified)}`);
    out(r.text);
  });
}
