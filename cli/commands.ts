/**
 * The handlers of the profile and offline commands, one per command (the relay and the
 * commands that use one are in commands/); main.ts maps argv to them.
 * Results go to stdout, notes for the user to stderr, failures are thrown (exit.ts).
 * Plaintext is written only after the Client has stored the message it came from.
 */
import { readFile, rmdir, stat } from "node:fs/promises";
import { armor, MAX_ARMOR_BYTES } from "../protocol/armor.js";
import { Client } from "../protocol/client.js";
import { MAX_TEXT_BYTES } from "../protocol/envelope.js";
import { checkName, checkRelayUrl, NAME_PATTERN } from "../protocol/identity.js";
import { parseAddress } from "../protocol/relay-api.js";
import { labelled, note, out, readMessageText, readStdinText, verifiedNote } from "./output.js";
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
import { UsageError } from "./usage-error.js";

/** The largest plaintext `encrypt` accepts: the protocol's limit, 1 MiB of UTF-8. */
export const MAX_PLAINTEXT_BYTES = MAX_TEXT_BYTES;

export interface ProfileOptions {
  profile: string;
}

export async function init(o: ProfileOptions & { name: string; relay?: string }): Promise<void> {
  const name = checkName(o.name);
  const relay = checkRelayUrl(o.relay ?? "");
  const kdf = kdfFromEnv();
  const existed = await checkNewProfileFolder(o.profile);
  const password = checkNewPassword(
    await askPassword({ envVar: PASSWORD_ENV, prompt: "New password: ", confirm: true }),
  );
  const storage = await ProfileStorage.open(o.profile, { create: true });
  let client: Client;
  try {
    client = await Client.create(storage, { name, relay, password }, { kdf });
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
      ["address", client.address],
      ...(relay ? ([["relay", relay]] as [string, string][]) : []),
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
    const text = await readMessageText();
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

/**
 * Whether `arg` names a user to fetch from a relay rather than a bundle file: an address
 * `name@host[:port]`, or a bare name when the profile has a relay and no such file exists.
 */
async function isAddress(c: Client, arg: string | undefined): Promise<boolean> {
  if (arg === undefined || arg === "-") return false;
  if (arg.includes("@")) {
    try {
      return parseAddress(arg).host !== undefined;
    } catch {
      return false; // not an address: read it as a file name
    }
  }
  if (!NAME_PATTERN.test(arg) || c.relay === "") return false;
  return stat(arg).then(
    () => false,
    () => true,
  );
}

export async function contactsAdd(
  arg: string | undefined,
  o: ProfileOptions & { acceptChanged?: boolean; acceptRelayKey?: boolean },
): Promise<void> {
  await withProfile(o.profile, async (c) => {
    const acceptChangedIdentity = o.acceptChanged === true;
    const before = new Map((await c.contacts()).map((k) => [k.address, k.fingerprint]));
    const k = (await isAddress(c, arg))
      ? await c.addContactFromRelay(arg!, {
          acceptChangedIdentity,
          acceptChangedRelayKeys: o.acceptRelayKey === true,
        })
      : await c.addContact(await readBundle(arg), { acceptChangedIdentity });
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

/** Starts over with a contact: the next message begins a new session (after a restore). */
export async function contactsReset(who: string, o: ProfileOptions): Promise<void> {
  await withProfile(o.profile, async (c) => {
    const k = await c.contact(who);
    await c.resetSession(k.address);
    note(`the next message to ${k.address} starts a new session`);
  });
}
