/**
 * Migration 2 (relay/storage/sqlite-migrations.ts): a database written at schema version 1
 * gets the fetch/quota index and per-mailbox message counts that match its messages.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteStore } from "../../relay/storage/sqlite.js";
import { MIGRATIONS } from "../../relay/storage/sqlite-migrations.js";
import { leaf, message, NOW, theirReceipts } from "./store-suite.js";

const dir = mkdtempSync(join(tmpdir(), "secure-msg-migrate-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("SQLite migration 2", () => {
  it("counts the messages already stored, then keeps the counts and the quota", async () => {
    const file = join(dir, "v1.db");
    const db = new Database(file);
    db.exec(MIGRATIONS[0]!);
    db.pragma("user_version = 1");
    const insert = db.prepare(
      `INSERT INTO messages (id, mailbox, envelope, at, expires, receipt, log_index)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    ["bob", "bob", "alice"].forEach((to, i) => {
      const m = message(to);
      insert.run(m.id, to, m.envelope, m.at, m.expires, m.receipt, i);
    });
    db.close();

    const store = SqliteStore.open(file);
    await store.close();
    const check = new Database(file, { readonly: true });
    expect(check.pragma("user_version", { simple: true })).toBe(MIGRATIONS.length);
    const counts = check
      .prepare<[], { mailbox: string; n: number }>("SELECT * FROM mailbox_counts ORDER BY mailbox")
      .all();
    expect(counts).toEqual([
      { mailbox: "alice", n: 1 },
      { mailbox: "bob", n: 2 },
    ]);
    const plan = check
      .prepare<[], { detail: string }>(
        "EXPLAIN QUERY PLAN SELECT * FROM messages WHERE mailbox = 'bob' AND expires >= 0 ORDER BY log_index LIMIT 50",
      )
      .all()
      .map((r) => r.detail)
      .join(" ");
    // The fetch walks one mailbox's index in log order: no sort of the whole mailbox.
    expect(plan).toContain("messages_by_index_expiry");
    expect(plan).not.toContain("TEMP B-TREE");
    check.close();
  });

  it("keeps the counts through deposits, acks and expiry", async () => {
    const store = SqliteStore.open(join(dir, "counts.db"));
    const a = message("bob", { expires: NOW + 10 });
    const items = [a, message("bob"), message("alice")].map((m) => ({ message: m, leaf: leaf() }));
    await store.depositMany(items, 10, theirReceipts(items));
    await store.ack("bob", [a.id]);
    await store.expire(NOW + 1000);
    await store.close();
    const db = new Database(join(dir, "counts.db"), { readonly: true });
    expect(db.prepare("SELECT * FROM mailbox_counts ORDER BY mailbox").all()).toEqual([
      { mailbox: "alice", n: 1 },
      { mailbox: "bob", n: 1 },
    ]);
    db.close();
  });
});
