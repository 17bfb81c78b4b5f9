/**
 * The CLI's storage adapter (docs/protocol.md §8.1) over a profile folder: key `a/b.c` is
 * the file `DIR/a/b.c`. The folder is mode 0700 and every file 0600.
 *
 * A batch of writes is atomic across a crash through a write-ahead journal: the final
 * state of every key in the batch is written to `DIR/.journal` (temp file, fsync, rename,
 * fsync folder), then applied file by file, then the journal is deleted. `open` re-applies
 * a complete journal; applying is idempotent, so a crash during recovery is harmless too.
 * A journal whose checksum does not match never finished its rename, so nothing of its
 * batch was applied and it is discarded.
 *
 * One process at a time uses a profile: `open` takes the profile lock `DIR/.lock`
 * (profile-lock.ts) and `close` releases it; within the process, a queue serialises the
 * calls on one instance. Keys are case-sensitive; on a case-insensitive file system keys
 * that differ only in case would share a file.
 */
import { createHash } from "node:crypto";
import type { Dirent } from "node:fs";
import {
  chmod,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  rmdir,
  unlink,
} from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { ProtocolError } from "../protocol/errors.js";
import { KEY_PATTERN, type StorageAdapter, type WriteOp } from "../protocol/storage.js";
import { DEFAULT_LOCK_TIMEOUT_MS, lockProfile } from "./profile-lock.js";

const JOURNAL = ".journal";
const TMP = ".tmp";
const JOURNAL_VERSION = 1;
const CHECKSUM_LENGTH = 32;

/**
 * True for keys the profile can hold: KEY_PATTERN, and also no empty or `.` path segment,
 * no segment ending in `.tmp` (temp files), and no leading `.`: the folder's own files,
 * the journal and the lock, are dot files.
 */
export function isProfileKey(key: string): boolean {
  if (typeof key !== "string" || !KEY_PATTERN.test(key) || key.startsWith(".")) return false;
  return key.split("/").every((s) => s !== "" && s !== "." && !s.endsWith(TMP));
}

function checkKey(key: string): void {
  if (!isProfileKey(key)) throw new RangeError(`invalid storage key: ${JSON.stringify(key)}`);
}

/** The journal: SHA-256 of the body, then the body, a UTF-8 JSON `{ v, ops }`. */
export function encodeJournal(ops: WriteOp[]): Uint8Array {
  const body = Buffer.from(
    JSON.stringify({
      v: JOURNAL_VERSION,
      ops: ops.map((op) => ({
        key: op.key,
        value: op.value === null ? null : Buffer.from(op.value).toString("base64"),
      })),
    }),
  );
  return Buffer.concat([createHash("sha256").update(body).digest(), body]);
}

/** The ops of a complete journal, or undefined for a torn or unreadable one. */
export function decodeJournal(bytes: Uint8Array): WriteOp[] | undefined {
  if (bytes.length < CHECKSUM_LENGTH) return undefined;
  const body = bytes.subarray(CHECKSUM_LENGTH);
  const sum = createHash("sha256").update(body).digest();
  if (!sum.equals(bytes.subarray(0, CHECKSUM_LENGTH))) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(body).toString("utf8")) as { v?: unknown; ops?: unknown };
    if (parsed.v !== JOURNAL_VERSION || !Array.isArray(parsed.ops)) return undefined;
    const ops: WriteOp[] = [];
    for (const op of parsed.ops as { key?: unknown; value?: unknown }[]) {
      if (typeof op.key !== "string" || !isProfileKey(op.key)) return undefined;
      if (op.value !== null && typeof op.value !== "string") return undefined;
      const value = op.value === null ? null : new Uint8Array(Buffer.from(op.value, "base64"));
      ops.push({ key: op.key, value });
    }
    return ops;
  } catch {
    return undefined;
  }
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

async function kind(path: string): Promise<"file" | "dir" | undefined> {
  try {
    const st = await lstat(path);
    return st.isDirectory() ? "dir" : "file";
  } catch (e) {
    if (errno(e) === "ENOENT" || errno(e) === "ENOTDIR") return undefined;
    throw e;
  }
}

/** Writes a whole file durably: temp file with mode 0600, fsync, rename over the target. */
async function writeFileDurably(path: string, data: Uint8Array): Promise<void> {
  const tmp = path + TMP;
  const fh = await open(tmp, "w", 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** Makes renames and unlinks in `dir` durable. Windows cannot open a folder to fsync it. */
async function fsyncDir(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(dir, "r");
  } catch (e) {
    if (errno(e) === "ENOENT") return;
    throw e;
  }
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** All files under `dir`, relative with `/`, descending only where `descend` allows. */
async function walk(dir: string, descend: (rel: string) => boolean, rel = ""): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(rel ? join(dir, rel) : dir, { withFileTypes: true });
  } catch (e) {
    if (errno(e) === "ENOENT" || errno(e) === "ENOTDIR") return [];
    throw e;
  }
  const out: string[] = [];
  for (const ent of entries) {
    const child = rel ? `${rel}/${ent.name}` : ent.name;
    if (ent.isDirectory()) {
      if (descend(child)) out.push(...(await walk(dir, descend, child)));
    } else out.push(child);
  }
  return out;
}

export class ProfileStorage implements StorageAdapter {
  readonly dir: string;
  /** Tail of the in-process queue: every call waits for the one before it. */
  private tail: Promise<unknown> = Promise.resolve();
  private readonly unlock: () => Promise<void>;
  private closed: Promise<void> | undefined;

  private constructor(dir: string, unlock: () => Promise<void>) {
    this.dir = dir;
    this.unlock = unlock;
  }

  /**
   * Opens a profile folder, finishing or discarding a write a crash interrupted. Waits up
   * to `lockTimeoutMs` while another process uses the profile, then fails with a
   * UsageError. Call `close` when done.
   */
  static async open(
    dir: string,
    {
      create,
      lockTimeoutMs = DEFAULT_LOCK_TIMEOUT_MS,
    }: { create: boolean; lockTimeoutMs?: number },
  ): Promise<ProfileStorage> {
    const root = resolve(dir);
    if (create) await mkdir(root, { recursive: true, mode: 0o700 });
    else if ((await kind(root)) !== "dir") {
      throw new ProtocolError("NO_ACCOUNT", `no profile folder at ${root}`);
    }
    await chmod(root, 0o700);
    // Before recovery: it deletes temp files and replays the journal, which is only safe
    // while no other process is writing.
    const unlock = await lockProfile(root, lockTimeoutMs);
    const storage = new ProfileStorage(root, unlock);
    try {
      await storage.recover();
    } catch (e) {
      await unlock();
      throw e;
    }
    return storage;
  }

  /**
   * Lets the calls already made finish, then releases the profile lock. Later calls fail.
   * Closing twice is harmless.
   */
  close(): Promise<void> {
    if (this.closed === undefined) {
      const done = this.tail.then(() => this.unlock());
      this.closed = done;
      this.tail = done.catch(() => undefined);
    }
    return this.closed;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    checkKey(key);
    return this.serial(async () => {
      try {
        return new Uint8Array(await readFile(this.path(key)));
      } catch (e) {
        if (["ENOENT", "ENOTDIR", "EISDIR"].includes(errno(e) ?? "")) return undefined;
        throw e;
      }
    });
  }

  async list(prefix: string): Promise<string[]> {
    if (typeof prefix !== "string") throw new TypeError("prefix must be a string");
    return this.serial(() => this.listKeys(prefix));
  }

  async write(ops: WriteOp[]): Promise<void> {
    if (!Array.isArray(ops)) throw new TypeError("ops must be an array");
    // Later ops on the same key win, as in MemoryStorage.
    const batch = new Map<string, Uint8Array | null>();
    for (const op of ops) {
      checkKey(op?.key);
      if (op.value !== null && !(op.value instanceof Uint8Array)) {
        throw new TypeError(`value for ${op.key} must be a Uint8Array or null`);
      }
      batch.set(op.key, op.value === null ? null : op.value.slice());
    }
    return this.serial(async () => {
      if (batch.size === 0) return;
      await this.checkConflicts(batch);
      const final = [...batch].map(([key, value]) => ({ key, value }));
      // One op is atomic by rename alone; more need the journal.
      if (final.length === 1) return this.apply(final);
      await writeFileDurably(join(this.dir, JOURNAL), encodeJournal(final));
      await fsyncDir(this.dir);
      await this.apply(final);
      await unlink(join(this.dir, JOURNAL));
      await fsyncDir(this.dir);
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    // Writing without the lock is what the lock exists to prevent.
    if (this.closed) return Promise.reject(new Error(`the profile ${this.dir} is closed`));
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private path(key: string): string {
    const p = join(this.dir, ...key.split("/"));
    // isProfileKey already rules out `..`; this is a second wall against leaving the folder.
    if (!p.startsWith(this.dir + sep)) throw new RangeError(`invalid storage key: ${key}`);
    return p;
  }

  private async listKeys(prefix: string): Promise<string[]> {
    const files = await walk(
      this.dir,
      (d) => `${d}/`.startsWith(prefix) || prefix.startsWith(`${d}/`),
    );
    return files.filter((k) => k.startsWith(prefix) && isProfileKey(k)).sort();
  }

  /** Removes temp files a crash left, then re-applies or discards the journal. */
  private async recover(): Promise<void> {
    for (const f of await walk(this.dir, () => true)) {
      if (f.endsWith(TMP)) await rm(join(this.dir, ...f.split("/")), { force: true });
    }
    const journal = join(this.dir, JOURNAL);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(journal);
    } catch (e) {
      if (errno(e) === "ENOENT") return;
      throw e;
    }
    const ops = decodeJournal(bytes);
    if (ops !== undefined) {
      try {
        await this.apply(ops);
      } catch (e) {
        throw new ProtocolError(
          "CORRUPT_STORE",
          `could not finish an interrupted write in ${this.dir}`,
          { cause: e },
        );
      }
    }
    await unlink(journal);
    await fsyncDir(this.dir);
  }

  /**
   * A file and a folder cannot share a path, so key `a` cannot exist beside `a/b`. Such a
   * batch is refused before the journal is written: a journal that can never be applied
   * would leave the profile unopenable.
   */
  private async checkConflicts(batch: Map<string, Uint8Array | null>): Promise<void> {
    for (const [key, value] of batch) {
      if (value === null) continue;
      const parts = key.split("/");
      for (let i = 1; i < parts.length; i++) {
        const anc = parts.slice(0, i).join("/");
        const planned = batch.get(anc);
        if (planned === null) continue; // deleted first, in this batch
        if (planned !== undefined || (await kind(this.path(anc))) === "file") {
          throw new RangeError(`storage key ${key} conflicts with key ${anc}`);
        }
      }
      if ((await kind(this.path(key))) === "dir") {
        const left = (await this.listKeys(`${key}/`)).filter((k) => batch.get(k) !== null);
        if (left.length > 0)
          throw new RangeError(`storage key ${key} conflicts with key ${left[0]}`);
      }
    }
  }

  /** Brings every key to its state in `ops`. Idempotent, so a replay may repeat it. */
  private async apply(ops: WriteOp[]): Promise<void> {
    const dirs = new Set<string>();
    const touch = (p: string) => {
      for (let d = dirname(p); d.startsWith(this.dir); d = dirname(d)) {
        dirs.add(d);
        if (d === this.dir) break;
      }
    };
    // Deletes first, so a folder emptied by this batch can become a file and vice versa.
    for (const { key } of ops.filter((op) => op.value === null)) {
      const p = this.path(key);
      touch(p);
      try {
        await unlink(p);
      } catch (e) {
        if (!["ENOENT", "ENOTDIR", "EISDIR"].includes(errno(e) ?? "")) throw e;
      }
      await this.pruneEmptyParents(p);
    }
    for (const { key, value } of ops) {
      if (value === null) continue;
      const p = this.path(key);
      touch(p);
      await mkdir(dirname(p), { recursive: true, mode: 0o700 });
      // checkConflicts allowed this only if no key remains under the folder.
      if ((await kind(p)) === "dir") await rm(p, { recursive: true, force: true });
      await writeFileDurably(p, value);
    }
    // Deepest first, so a new folder is durable before its parent's entry for it.
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) await fsyncDir(d);
  }

  private async pruneEmptyParents(path: string): Promise<void> {
    for (let d = dirname(path); d !== this.dir && d.startsWith(this.dir + sep); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // not empty, or already gone
      }
    }
  }
}
