/**
 * A profile as the CLI sees it: a folder holding one account's keystore, opened with a
 * password into a `Client`. Passwords come from the environment or a terminal with echo
 * off, never from argv.
 */
import { openSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { ReadStream } from "node:tty";
import { Client } from "../protocol/client.js";
import { ProtocolError } from "../protocol/errors.js";
import { DEFAULT_KDF, HEADER_KEY, type KdfParams } from "../protocol/keystore.js";
import { LOCK } from "./profile-lock.js";
import { ProfileStorage } from "./profile-storage.js";
import { type PasswordOptions, readPassword } from "./prompt.js";
import { UsageError } from "./usage-error.js";

export const PASSWORD_ENV = "SECURE_MSG_PASSWORD";
export const NEW_PASSWORD_ENV = "SECURE_MSG_NEW_PASSWORD";
export const KDF_ENV = "SECURE_MSG_KDF";
export const MIN_PASSWORD_LENGTH = 10;

/**
 * Argon2id cost from SECURE_MSG_KDF=m,t,p (memory KiB, passes, lanes): a testing knob.
 * Unset means DEFAULT_KDF. The keystore checks the ranges; this checks the shape.
 */
export function kdfFromEnv(): KdfParams {
  const raw = process.env[KDF_ENV];
  if (raw === undefined) return DEFAULT_KDF;
  const m = /^(\d{1,8}),(\d{1,3}),(\d{1,3})$/.exec(raw.trim());
  if (!m)
    throw new UsageError(`${KDF_ENV} must be m,t,p (memory KiB, passes, lanes), e.g. 1024,1,1`);
  const [mem, t, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (mem < 8 || t < 1 || p < 1 || mem < 8 * p)
    throw new UsageError(`${KDF_ENV}: need m >= 8 * p, t >= 1 and p >= 1`);
  return { m: mem, t, p };
}

export function checkNewPassword(password: string): string {
  if ([...password].length < MIN_PASSWORD_LENGTH)
    throw new UsageError(`the password must be at least ${MIN_PASSWORD_LENGTH} characters`);
  return password;
}

/**
 * Reads a password: from `envVar` if set, else from the terminal. When stdin carries data
 * (encrypt, decrypt, contacts add), the prompt goes to the controlling terminal, as age
 * and gpg do, so `secure-msg encrypt --to bob < note.txt` still asks for the password.
 */
export async function askPassword(opts: PasswordOptions): Promise<string> {
  if (process.env[opts.envVar] !== undefined || process.stdin.isTTY) return readPassword(opts);
  const tty = openTerminal();
  if (!tty) return readPassword(opts); // fails with a UsageError naming envVar
  try {
    return await readPassword({ ...opts, input: tty });
  } finally {
    tty.destroy();
  }
}

function openTerminal(): ReadStream | undefined {
  if (process.platform === "win32") return undefined;
  try {
    return new ReadStream(openSync("/dev/tty", "r"));
  } catch {
    return undefined; // no controlling terminal (cron, CI, a detached process)
  }
}

async function kindOf(path: string): Promise<"file" | "dir" | undefined> {
  try {
    return (await stat(path)).isDirectory() ? "dir" : "file";
  } catch {
    return undefined;
  }
}

/**
 * True when `dir` holds a keystore header. ProfileStorage stores key `keystore` as the file
 * of that name. Checked before ProfileStorage.open, which chmods the folder and deletes
 * every `*.tmp` file under it: a mistyped `--profile ~` must not get that far.
 */
async function hasKeystore(dir: string): Promise<boolean> {
  return (await kindOf(join(dir, HEADER_KEY))) === "file";
}

/** A missing folder or keystore is NO_ACCOUNT, checked before any prompt. */
async function checkProfile(dir: string): Promise<void> {
  if (!(await hasKeystore(dir))) {
    const where = (await kindOf(dir)) === "dir" ? "no profile in" : "no profile folder at";
    throw new ProtocolError("NO_ACCOUNT", `${where} ${dir}: create one with 'init'`);
  }
}

/** An existing profile's storage, locked against other processes until its `close`. */
export async function openProfileStorage(dir: string): Promise<ProfileStorage> {
  await checkProfile(dir);
  return ProfileStorage.open(dir, { create: false });
}

/**
 * For `init`: the folder must not exist, or be empty. A profile is ACCOUNT_EXISTS; any
 * other content is refused so the profile never mixes with unrelated files. A lock alone
 * counts as empty: another `init` of the folder may hold it, and is waited for.
 * Returns whether the folder already existed.
 */
export async function checkNewProfileFolder(dir: string): Promise<boolean> {
  const kind = await kindOf(dir);
  if (kind === undefined) return false;
  if (await hasKeystore(dir))
    throw new ProtocolError("ACCOUNT_EXISTS", `a profile already exists in ${dir}`);
  if (kind !== "dir" || (await readdir(dir)).some((f) => f !== LOCK))
    throw new UsageError(`${dir} exists and is not an empty folder: choose a new one`);
  return true;
}

/**
 * Runs `fn` with the profile opened by the password from SECURE_MSG_PASSWORD or `prompt`,
 * then locks the client and closes the storage, releasing the profile to other processes,
 * whatever happens. The password is asked before the profile is taken, so a person at the
 * prompt does not hold up another process.
 */
export async function withProfile<T>(
  dir: string,
  fn: (client: Client, password: string) => Promise<T>,
  prompt = "Password: ",
): Promise<T> {
  await checkProfile(dir);
  const password = await askPassword({ envVar: PASSWORD_ENV, prompt });
  const storage = await openProfileStorage(dir);
  try {
    const client = await Client.open(storage, password);
    try {
      return await fn(client, password);
    } finally {
      client.lock();
    }
  } finally {
    await storage.close();
  }
}

/** The profile's relay, or a UsageError that says how to get one. */
export function ownRelay(c: Client): string {
  if (c.relay === "")
    throw new UsageError(
      "this profile has no relay: create a profile with 'init --relay URL' to use one",
    );
  return c.relay;
}
