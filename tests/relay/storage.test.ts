import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { StoreUnavailable } from "../../relay/storage/errors.js";
import { SqliteStore } from "../../relay/storage/sqlite.js";
import { MIGRATIONS } from "../../relay/storage/sqlite-migrations.js";
import { batchSuite } from "./store-batch-suite.js";
import {
  checkpoint,
  entry,
  expectLog,
  leaf,
  message,
  NOW,
  randomBytes,
  storeSuite,
} from "./store-suite.js";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "secure-msg-store-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) {
    chmodSync(d, 0o755);
    rmSync(d, { recursive: true, force: true });
  }
});

storeSuite("SqliteStore in memory", async () => SqliteStore.open(":memory:"));
storeSuite("SqliteStore file", async () => SqliteStore.open(join(tempDir(), "relay.db")));
batchSuite("SqliteStore in memory", async () => SqliteStore.open(":memory:"));
batchSuite("SqliteStore file", async () => SqliteStore.open(join(tempDir(), "relay.db")));

/** Expects `p` to reject with StoreUnavailable caused by SQLite error `code`. */
async function expectUnavailable(p: Promise<unknown>, code: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(e).toBeInstanceOf(StoreUnavailable);
  expect((e as StoreUnavailable).name).toBe("StoreUnavailable");
  expect(((e as StoreUnavailable).cause as { code: string }).code).toMatch(code);
}

describe("SqliteStore", () => {
  it("reopens a file database with its data and log intact, and appends on", async () => {
    const file = join(tempDir(), "relay.db");
    const leaves: Uint8Array[] = [];
    let store = SqliteStore.open(file);
    const ms = [message("bob"), message("alice"), message("bob")];
    for (const m of ms) {
      const l = leaf();
      expect((await store.deposit(m, l, 10)).status).toBe("stored");
      leaves.push(l);
    }
    const e = entry("alice", randomBytes(32), NOW);
    leaves.push(leaf());
    await store.putEntry(e, leaves[3]!);
    const checkpoint = { size: 4, root: randomBytes(32), at: NOW, signature: randomBytes(64) };
    await store.putCheckpoint(checkpoint);
    expect(await store.useNonce("n", NOW + 100, NOW)).toBe(true);
    await store.close();

    store = SqliteStore.open(file);
    expect(await store.fetch("bob", 10, NOW)).toEqual([
      { ...ms[0], index: 0 },
      { ...ms[2], index: 2 },
    ]);
    expect(await store.getEntry("alice")).toEqual({ ...e, index: 3 });
    expect(await store.latestCheckpoint()).toEqual(checkpoint);
    expect(await store.useNonce("n", NOW + 100, NOW)).toBe(false);
    await expectLog(store, leaves);
    for (let i = 0; i < 5; i++) {
      leaves.push(leaf());
      await store.deposit(message("carol"), leaves.at(-1)!, 10);
    }
    await expectLog(store, leaves);
    await store.close();
  });

  it("keeps only the latest checkpoint on disk", async () => {
    const file = join(tempDir(), "relay.db");
    const store = SqliteStore.open(file);

    for (const size of [1, 2, 5, 3, 8]) await store.putCheckpoint(checkpoint(size));
    await store.close();
    const db = new Database(file, { readonly: true });
    const sizes = db.prepare<[], { size: number }>("SELECT size FROM checkpoints").all();
    db.close();
    expect(sizes.map((r) => r.size)).toEqual([8]);
  });

  it("puts a file database in WAL mode at the current schema version", async () => {
    const file = join(tempDir(), "relay.db");
    await SqliteStore.open(file).close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'")
      .all()
      .map((t) => t.name);
    expect(tables.sort()).toEqual(
      [
        "checkpoints",
        "directory",
        "log_meta",
        "log_nodes",
        "mailbox_counts",
        "messages",
        "nonces",
        "rate_limits",
      ].sort(),
    );
    db.close();
  });

  it("refuses a database written by a newer schema, and leaves it untouched", async () => {
    const file = join(tempDir(), "relay.db");
    await SqliteStore.open(file).close();
    const db = new Database(file);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    expect(() => SqliteStore.open(file)).toThrow(/newer than this relay knows/);
    expect(db.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length + 1);
    db.close();
  });

  it("reports a full disk as StoreUnavailable and stores nothing of the failed deposit", async () => {
    const store = SqliteStore.open(join(tempDir(), "relay.db"), { maxBytes: 256 * 1024 });
    const leaves: Uint8Array[] = [];
    let failure: Promise<unknown> | undefined;
    for (let i = 0; i < 100 && !failure; i++) {
      const l = leaf();
      const m = message("bob", { envelope: new Uint8Array(16 * 1024) });
      await store.deposit(m, l, 1000).then(
        () => leaves.push(l),
        (e: unknown) => {
          failure = Promise.reject(e);
        },
      );
    }
    expect(failure).toBeDefined();
    await expectUnavailable(failure!, /^SQLITE_FULL/);
    expect(leaves.length).toBeGreaterThan(0);
    expect(await store.fetch("bob", 1000, NOW)).toHaveLength(leaves.length);
    await expectLog(store, leaves);
    await store.health();
    await store.close();
  });

  it("reports a lock held too long by another process as StoreUnavailable", async () => {
    const file = join(tempDir(), "relay.db");
    const store = SqliteStore.open(file, { busyTimeoutMs: 50 });
    const l0 = leaf();
    await store.deposit(message("bob"), l0, 10);
    const other = new Database(file);
    other.exec("BEGIN IMMEDIATE");
    await expectUnavailable(store.deposit(message("bob"), leaf(), 10), /^SQLITE_BUSY/);
    // WAL: readers are not blocked by the writer.
    expect(await store.fetch("bob", 10, NOW)).toHaveLength(1);
    other.exec("ROLLBACK");
    other.close();
    const l1 = leaf();
    expect((await store.deposit(message("bob"), l1, 10)).status).toBe("stored");
    await expectLog(store, [l0, l1]);
    await store.close();
  });

  it.skipIf(process.getuid?.() === 0)(
    "reports a read-only database as StoreUnavailable",
    async () => {
      const dir = tempDir();
      const file = join(dir, "relay.db");
      await SqliteStore.open(file).close();
      chmodSync(file, 0o444);
      chmodSync(dir, 0o555);
      try {
        const opened = (async () => SqliteStore.open(file))();
        await expectUnavailable(opened, /^SQLITE_(READONLY|CANTOPEN)/);
      } finally {
        chmodSync(dir, 0o755);
      }
    },
  );

  it("keeps one consistent log when several processes deposit into one file at once", async () => {
    const file = join(tempDir(), "relay.db");
    await SqliteStore.open(file).close();
    const module = new URL("../../relay/storage/sqlite.ts", import.meta.url).href;
    // Each process deposits 25 messages whose envelope is also their leaf.
    const script = `
      import { SqliteStore } from ${JSON.stringify(module)};
      const [file, p] = process.argv.slice(1);
      const store = SqliteStore.open(file);
      for (let i = 0; i < 25; i++) {
        const envelope = new TextEncoder().encode(\`process \${p} message \${i}\`);
        const m = { id: crypto.getRandomValues(new Uint8Array(16)), to: "bob", envelope,
          at: ${NOW}, expires: ${NOW + 1000}, receipt: new Uint8Array(64) };
        const r = await store.deposit(m, envelope, 1000);
        if (r.status !== "stored") throw new Error(r.status);
      }
      await store.close();
    `;
    const run = promisify(execFile);
    await Promise.all(
      [0, 1, 2, 3].map((p) =>
        run(process.execPath, [
          "--import",
          "tsx",
          "--input-type=module",
          "-e",
          script,
          file,
          `${p}`,
        ]),
      ),
    );
    const store = SqliteStore.open(file);
    const all = await store.fetch("bob", 1000, NOW);
    expect(all.map((m) => m.index)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await expectLog(
      store,
      all.map((m) => m.envelope),
    );
    await store.close();
  });

  it("keeps programming errors apart from unavailability", async () => {
    const store = SqliteStore.open(":memory:");
    await expect(store.deposit(message("bob", { at: 1.5 }), leaf(), 10)).rejects.toThrow(TypeError);
    await expect(store.addHits([{ key: "k", windowMs: 0, add: 1 }], NOW)).rejects.toThrow(
      RangeError,
    );
    const missing = await store.node(0, 0).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Error);
    expect(missing).not.toBeInstanceOf(StoreUnavailable);
    await store.close();
    await expect(store.health()).rejects.toBeInstanceOf(StoreUnavailable);
  });
});
