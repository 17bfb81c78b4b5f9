/**
 * Durability off the event loop (relay/storage/wal-sync.ts): a write is answered only
 * after an fdatasync that started after its commit; concurrent writes share fdatasyncs;
 * a failed fdatasync makes the store unavailable for good.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { StoreUnavailable } from "../../relay/storage/errors.js";
import { SqliteStore } from "../../relay/storage/sqlite.js";
import { WalSync, walDatasync } from "../../relay/storage/wal-sync.js";
import { leaf, message } from "./store-suite.js";

/** A datasync that waits until released, recording when each call started. */
function manual() {
  const started: number[] = [];
  const gates: ((e?: Error) => void)[] = [];
  let clock = 0;
  return {
    started,
    tick: () => ++clock,
    datasync: () =>
      new Promise<void>((resolve, reject) => {
        started.push(clock);
        gates.push((e) => (e ? reject(e) : resolve()));
      }),
    release: (e?: Error) => gates.shift()!(e),
  };
}

const settled = () => new Promise((r) => setImmediate(r));

describe("WalSync", () => {
  it("answers a commit only after a datasync that started after it, shared by a burst", async () => {
    const m = manual();
    const w = new WalSync(m.datasync);
    const done: string[] = [];
    m.tick(); // commit A
    const a = w.sync().then(() => done.push("a"));
    m.tick(); // commits B and C, while A's datasync runs
    const b = w.sync().then(() => done.push("b"));
    const c = w.sync().then(() => done.push("c"));
    await settled();
    expect(m.started).toEqual([1]);
    m.release();
    await a;
    await settled();
    expect(done).toEqual(["a"]);
    // B and C share one datasync, started after both commits.
    expect(m.started).toEqual([1, 2]);
    m.release();
    await Promise.all([b, c]);
    expect(done).toEqual(["a", "b", "c"]);
    expect(w.flushes).toBe(2);
  });

  it("fails every waiting and every later write once a datasync fails", async () => {
    const m = manual();
    const w = new WalSync(m.datasync);
    const first = w.sync();
    const queued = w.sync();
    m.release(new Error("EIO"));
    await expect(first).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(queued).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(w.sync()).rejects.toThrow(/failed to sync/);
    expect(() => w.check()).toThrow(StoreUnavailable);
    expect(m.started).toHaveLength(1); // a failed disk is not asked again
  });
});

describe("SqliteStore durability", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("resolves a deposit only after its sync, and is unavailable after a failed one", async () => {
    dir = await mkdtemp(join(tmpdir(), "secure-msg-wal-"));
    const path = join(dir, "relay.db");
    const m = manual();
    const store = SqliteStore.open(path, { datasync: m.datasync });
    let answered = false;
    const deposit = store.deposit(message("bob"), leaf(), 10).then(() => {
      answered = true;
    });
    await settled();
    expect(answered).toBe(false);
    // Committed (readers see it) but not yet answered: the answer waits for the disk.
    expect(await store.logSize()).toBe(1);
    m.release();
    await deposit;
    expect(answered).toBe(true);

    const lost = store.deposit(message("bob"), leaf(), 10);
    await settled();
    m.release(new Error("EIO"));
    await expect(lost).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(store.fetch("bob", 10, Date.now())).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(store.health()).rejects.toBeInstanceOf(StoreUnavailable);
    await store.close();
    // A restart recovers what reached the file, both deposits here (the disk never failed).
    const reopened = SqliteStore.open(path);
    expect(await reopened.logSize()).toBe(2);
    await reopened.close();
  });

  it("syncs the real WAL file of an open database", async () => {
    dir = await mkdtemp(join(tmpdir(), "secure-msg-wal-"));
    const store = SqliteStore.open(join(dir, "relay.db"));
    await store.deposit(message("bob"), leaf(), 10);
    const sync = walDatasync(join(dir, "relay.db-wal"));
    await sync();
    await sync();
    await expect(walDatasync(join(dir, "missing-wal"))()).rejects.toMatchObject({
      code: "ENOENT",
    });
    await store.close();
  });
});
