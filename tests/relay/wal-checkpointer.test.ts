/**
 * WAL checkpoints off the event loop (relay/storage/wal-checkpointer.ts): the store's
 * connection never checkpoints inside a commit, the thread copies what is committed, the
 * WAL stays bounded under a steady stream of writes, and a thread that cannot run hands
 * checkpoints back to SQLite.
 */
import { mkdirSync, renameSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../../relay/storage/sqlite.js";
import { WalCheckpointer } from "../../relay/storage/wal-checkpointer.js";
import { leaf, message } from "./store-suite.js";

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});
async function file(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "secure-msg-ckpt-"));
  dirs.push(dir);
  return join(dir, "relay.db");
}

const big = (to: string) => message(to, { envelope: new Uint8Array(8000).fill(7) });
const waitFor = async (ok: () => boolean) => {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(ok()).toBe(true);
};

/** The WAL as another connection sees it: frames in it, and how many are copied (none copied now). */
function walState(path: string): { busy: number; log: number; checkpointed: number } {
  const db = new Database(path);
  try {
    const [r] = db.pragma("wal_checkpoint(NOOP)") as {
      busy: number;
      log: number;
      checkpointed: number;
    }[];
    return r!;
  } finally {
    db.close();
  }
}

/** Deposits committed one per turn of the event loop, never waiting; the WAL's largest size. */
async function steadyWrites(store: SqliteStore, path: string, n: number): Promise<number> {
  const pending: Promise<unknown>[] = [];
  let largest = 0;
  for (let i = 0; i < n; i++) {
    pending.push(store.deposit(big(`u${i % 7}`), leaf(), 10_000));
    largest = Math.max(largest, statSync(`${path}-wal`).size);
    await new Promise((r) => setImmediate(r));
  }
  await Promise.all(pending);
  const all = await Promise.all(
    Array.from({ length: 7 }, (_, u) => store.fetch(`u${u}`, 10_000, 0)),
  );
  expect(all.flat()).toHaveLength(n);
  return largest;
}

describe("WAL checkpoints on their own thread", () => {
  it("are off inside the store's commits, and the thread copies what was committed", async () => {
    const path = await file();
    // A thread that checkpoints once, at start, and then not for a minute.
    const store = SqliteStore.open(path, { checkpointEveryMs: 60_000 });
    await waitFor(() => store.threadCheckpoints >= 1);
    for (let i = 0; i < 400; i++) await store.deposit(big("bob"), leaf(), 10_000);
    // Far past the 1000 pages at which SQLite would checkpoint inside a commit: nothing
    // is copied yet.
    const before = walState(path);
    expect(before.busy).toBe(0);
    expect(before.log).toBeGreaterThan(1000);
    expect(before.checkpointed).toBe(0);
    await store.close();

    const fast = SqliteStore.open(path, { checkpointEveryMs: 20 });
    for (let i = 0; i < 40; i++) await fast.deposit(big("bob"), leaf(), 10_000);
    const runs = fast.threadCheckpoints;
    await waitFor(() => fast.threadCheckpoints > runs + 1);
    const after = walState(path);
    expect(after.busy).toBe(0);
    expect(after.log).toBeGreaterThan(0);
    expect(after.checkpointed).toBe(after.log);
    expect((await fast.fetch("bob", 1000, 0)).length).toBe(440);
    await fast.close();
  });

  it("keeps the WAL bounded under writes that never pause", async () => {
    const path = await file();
    const store = SqliteStore.open(path, { checkpointEveryMs: 5, maxWalBytes: 2 << 20 });
    // A deposit committed on every turn of the event loop: the thread is always a little
    // behind, so SQLite could never start the WAL over on its own. Without catching up it
    // grows to tens of MB here.
    expect(await steadyWrites(store, path, 600)).toBeLessThan(8_000_000);
    expect(store.threadCheckpoints).toBeGreaterThan(0);
    await store.close();
  });

  it("catches up on the store's connection when the thread is behind", async () => {
    const path = await file();
    // The thread runs once, at start: only catching up can start the WAL over.
    const store = SqliteStore.open(path, { checkpointEveryMs: 60_000, maxWalBytes: 1 << 20 });
    await waitFor(() => store.threadCheckpoints >= 1);
    // 1,200 deposits of 8 KB leave about 60 MB of WAL if it never starts over; catching
    // up past 1 MiB keeps it to a few MB.
    expect(await steadyWrites(store, path, 1200)).toBeLessThan(8_000_000);
    expect(store.threadCheckpoints).toBe(1);
    await store.close();
  });

  it("hands checkpoints back to SQLite when the thread fails", async () => {
    const path = await file();
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t (x)");
    // The open connection keeps its file; the thread opens whatever is at the path now.
    renameSync(path, `${path}.moved`);
    mkdirSync(path);
    const fatal: Error[] = [];
    const c = new WalCheckpointer(db, {
      everyMs: 20,
      maxWalBytes: 1 << 20,
      onFatal: (e) => fatal.push(e),
    });
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(0);
    await waitFor(() => !c.running);
    expect(c.runs).toBe(0);
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(1000);
    expect(fatal).toEqual([]); // it could not start: nothing was lost
    await c.close();
    db.close();
  });

  it("is not started for an in-memory store", async () => {
    const store = SqliteStore.open(":memory:");
    await store.deposit(big("bob"), leaf(), 1000);
    await new Promise((r) => setTimeout(r, 150));
    expect(store.threadCheckpoints).toBe(0);
    await store.close();
  });
});
