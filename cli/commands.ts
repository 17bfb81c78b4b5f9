/**
 * The handlers of the `secure-msg` commands, one per command; main.ts maps argv to them.
 * Results go to stdout, notes for the user to stderr, failures are thrown (exit.ts).
 * Plaintext is written only after the Client has stored the message it came from.
 */
import { readFile, rmdir, stat } from "node:fs/promises";
import { armor, MAX_ARMOR_BYTES } from "../protocol/armor.js";
import { Client } from "../protocol/client.js";
import { MAX_TEXT_BYTES } from "../protocol/envelope.js";
import { checkName } from "../protocol/identity.js";
import {
  askPassword,
  checkNewPassword,
  checkNewProfileFolder,
  kdfFromEnv,
  NEW_PASSWORD_ENV,
  PASSWORD_ENV,
  withProfile,
} from "./profile.js";
import { ProfileStorage } from "./profile-storage.js";
import { readStdin } from "./prompt.js";
import { UsageError } from "./usage-error.js";

/** The largest plaintext `encrypt` accepts: the protocol's limit, 1 MiB of UTF-8. */
export const MAX_PLAINTEXT_BYTES = MAX_TEXT_BYTES;

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
    // Leave no empty folder behind; rmdir refuses one that holds anything, the lock too.
    await storage.close();
    if (!existed) await rmdir(o.profile).catch(() => undefined);
    throw e;
  }
  await storage.close();
  out(
    labelled([
      ["name", client.name],
      ["fingerprint", client.fingerprint],
    ]),
  );
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
    out(
      o.compact ? `${armor("MESSAGE", envelope, { compact: true })}\n` : armor("MESSAGE", envelope),
    );
  });
}

export async function decrypt(o: ProfileOptions): Promise<void> {
  await withProfile(o.profile, async (c) => {
    const input = await readStdinText("message armor", 4 * MAX_ARMOR_BYTES);
    const r = await c.decrypt(new TextDecoder().decode(input));
    if (r.newContact) note(`new contact: ${r.from}`);
    note(`from ${verifiedNote(o.profile, r.from, r.verified)}`);
    out(r.text);
  });
}

// --- contacts --------------------------------------------------------------------------

/** A bundle armor is about 8 KiB; this leaves room and still bounds what is read. */
const MAX_BUNDLE_TEXT = 1024 * 1024;

const FILE_ERRORS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EISDIR: "it is a folder",
};

async function readBundle(file: string | undefined): Promise<string> {
  if (file === undefined || file === "-")
    return new TextDecoder().decode(await readStdinText("bundle", MAX_BUNDLE_TEXT));
  let bytes: Buffer;
  try {
    if ((await stat(file)).size > MAX_BUNDLE_TEXT)
      throw new UsageError(`${file} is too large to be a bundle`);
    bytes = await readFile(file);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? "";
    throw new UsageError(`cannot read ${file}: ${FILE_ERRORS[code] ?? "unreadable"}`);
  }
  return new TextDecoder().decode(bytes);
}

export async function contactsAdd(
  file: string | undefined,
  o: ProfileOptions & { acceptChanged?: boolean },
): Promise<void> {
  await withProfile(o.profile, async (c) => {
    const text = await readBundle(file);
    const before = new Map((await c.contacts()).map((k) => [k.address, k.fingerprint]));
    const k = await c.addContact(text, { acceptChangedIdentity: o.acceptChanged === true });
    out(
      labelled([
        ["name", k.name],
        ["address", k.address],
        ["fingerprint", k.fingerprint],
      ]),
    );
    const previous = before.get(k.address);
    if (previous === undefined) note(`new contact: ${verifiedNote(o.profile, k.address, false)}`);
    else if (previous !== k.fingerprint)
      note(`accepted a NEW identity key for ${verifiedNote(o.profile, k.address, false)}`);
    else note(`updated contact: ${verifiedNote(o.profile, k.address, k.verified)}`);
  });
}

export async function contactsList(o: ProfileOptions & { json?: boolean }): Promise<void> {
  await withProfile(o.profile, async (c) => {
    const list = await c.contacts();
    if (o.json) {
      const rows = list.map(({ address, name, relay, fingerprint, verified }) => ({
        address,
        name,
        relay,
        fingerprint,
        verified,
      }));
      out(`${JSON.stringify(rows, null, 2)}\n`);
      return;
    }
    const width = Math.max(0, ...list.map((k) => k.address.length));
    for (const k of list) {
      out(
        `${k.address.padEnd(width)}  ${k.verified ? "verified  " : "unverified"}  ${k.fingerprint}\n`,
      );
    }
    if (list.length === 0) note("no contacts yet: add one with 'contacts add'");
  });
}

export async function contactsVerify(who: string, o: ProfileOptions): Promise<void> {
  await withProfile(o.profile, async (c) => {
    const k = await c.contact(who);
    await c.markVerified(k.address);
    out(
      labelled([
        ["address", k.address],
        ["safety number", k.safetyNumber],
      ]),
    );
    note(`marked ${k.address} as verified`);
  });
}

export async function fingerprint(who: string, o: ProfileOptions): Promise<void> {
  await withProfile(o.profile, async (c) => {
    const k = await c.contact(who);
    out(
      labelled([
        ["name", k.name],
        ["address", k.address],
        ["fingerprint", k.fingerprint],
        ["safety number", k.safetyNumber],
        ["verified", k.verified ? "yes" : "no"],
      ]),
    );
  });
}
