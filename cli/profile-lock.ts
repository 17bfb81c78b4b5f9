/**
 * The profile lock: one secure-msg process at a time uses a profile folder. Two processes
 * could otherwise load the same ratchet state, and the one that writes last would put back
 * a state the other had already advanced, so an AES-GCM key and nonce would be used twice.
 *
 * The lock is the file `DIR/.lock`, created exclusively (O_EXCL) with mode 0600 and holding
 * JSON `{ pid, host, started }`. A lock naming a pid on this host that is no longer alive is
 * stale: its holder crashed or was killed, and the lock is taken over. A lock from another
 * host cannot be checked, so it is waited for like a live one.
 *
 * Several processes may find the same stale lock at once; they elect one of them to delete
 * it (`breakStale`), so none can delete a lock that a new holder created in the meantime.
 * Then every one tries to create the lock again, and only one succeeds.
 */
import { createHash } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { open, readFile, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { UsageError } from "./usage-error.js";

export const LOCK = ".lock";
export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const POLL_MS = 50;

/** What a lock file says about its holder. */
interface LockHolder {
  pid: number;
  host: string;
  /** When the holder took the lock, ISO 8601. */
  started: string;
}

/**
 * Every lock this process holds, path to file content, so that one exit handler can release
 * them all however many profiles a process opens.
 */
const held = new Map<string, string>();
let exitHandlerInstalled = false;

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const h = JSON.parse(text) as Partial<LockHolder> | null;
    if (!Number.isSafeInteger(h?.pid) || (h?.pid as number) <= 0) return undefined;
    if (typeof h?.host !== "string") return undefined;
    return { pid: h.pid as number, host: h.host, started: String(h.started) };
  } catch {
    return undefined;
  }
}

/** Signal 0 only checks the pid: ESRCH means no such process, EPERM one of another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) !== "ESRCH";
  }
}

function isStale(h: LockHolder | undefined): boolean {
  return h !== undefined && h.host === hostname() && !isAlive(h.pid);
}

async function readLock(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if (errno(e) === "ENOENT") return undefined;
    throw e;
  }
}

/** Creates the lock file holding `content`; false if a lock already exists. */
async function tryCreate(path: string, content: string): Promise<boolean> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, "wx", 0o600);
  } catch (e) {
    if (errno(e) === "EEXIST") return false;
    throw e;
  }
  try {
    await fh.writeFile(content);
    // An empty lock left by a power cut would block the profile until deleted by hand.
    await fh.sync();
  } catch (e) {
    await fh.close();
    await unlink(path).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return true;
}

/** A file name derived from a lock's content, which no later lock repeats. */
function markerName(path: string, content: string): string {
  return `${path}.${createHash("sha256").update(content).digest("hex").slice(0, 16)}`;
}

/**
 * Deletes the lock at `path` if it is still the stale one whose content was `seen`; false
 * when another process is doing so. Checking and deleting are two steps, so the processes
 * that found the same stale lock first elect one breaker: the one that creates the marker
 * file named after that lock. A breaker that dies leaves its marker, and the next one is
 * elected by a marker named after that marker, so a stale lock never has two living
 * breakers.
 */
async function breakStale(path: string, seen: string, content: string): Promise<boolean> {
  const markers: string[] = [];
  let marker = markerName(path, seen);
  for (;;) {
    if (await tryCreate(marker, content)) break;
    const other = await readLock(marker);
    if (other === undefined) continue; // that breaker has finished: check for ourselves
    if (!isStale(parseHolder(other))) return false;
    markers.push(marker);
    marker = markerName(marker, other);
  }
  markers.push(marker);
  try {
    if ((await readLock(path)) === seen) await unlink(path);
  } finally {
    // Every marker of the chain names the stale lock, which is gone: none is needed now.
    for (const m of markers.reverse()) await unlink(m).catch(() => undefined);
  }
  return true;
}

function inUse(dir: string, path: string, holder: LockHolder | undefined): UsageError {
  const prefix = `the profile ${dir} is in use by another secure-msg process`;
  if (holder === undefined)
    return new UsageError(`${prefix} (unreadable lock: delete ${path} if none is running)`);
  if (holder.host !== hostname())
    return new UsageError(
      `${prefix} (pid ${holder.pid} on ${holder.host}: delete ${path} if it is not running)`,
    );
  return new UsageError(`${prefix} (pid ${holder.pid})`);
}

/** Releases every lock this process still holds. Runs on exit, so it must be synchronous. */
function releaseAllSync(): void {
  for (const [path, content] of held) {
    try {
      if (readFileSync(path, "utf8") === content) unlinkSync(path);
    } catch {
      // Gone already, or unreadable: nothing of ours to remove.
    }
  }
  held.clear();
}

async function release(path: string, content: string): Promise<void> {
  if (held.get(path) !== content) return;
  try {
    // Only our own lock: a file with other content belongs to whoever wrote it.
    if ((await readLock(path)) === content) {
      await unlink(path).catch((e) => {
        if (errno(e) !== "ENOENT") throw e;
      });
    }
  } finally {
    held.delete(path);
  }
}

/**
 * Takes the lock of the profile folder `dir`, waiting up to `timeoutMs` for its holder to
 * release it, and returns the function that releases it (once, however often called).
 * Fails with a UsageError when the profile stays in use.
 */
export async function lockProfile(
  dir: string,
  timeoutMs = DEFAULT_LOCK_TIMEOUT_MS,
): Promise<() => Promise<void>> {
  if (typeof timeoutMs !== "number" || !(timeoutMs >= 0))
    throw new RangeError("lockTimeoutMs must be a number >= 0");
  const path = join(dir, LOCK);
  const holder: LockHolder = {
    pid: process.pid,
    host: hostname(),
    started: new Date().toISOString(),
  };
  const content = `${JSON.stringify(holder)}\n`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tryCreate(path, content)) break;
    const seen = await readLock(path);
    if (seen === undefined) continue; // released just now
    const other = parseHolder(seen);
    if (isStale(other) && (await breakStale(path, seen, content))) continue;
    if (Date.now() >= deadline) throw inUse(dir, path, other);
    await sleep(POLL_MS);
  }
  held.set(path, content);
  if (!exitHandlerInstalled) {
    exitHandlerInstalled = true;
    process.once("exit", releaseAllSync);
  }
  let released: Promise<void> | undefined;
  return () => {
    released ??= release(path, content);
    return released;
  };
}
