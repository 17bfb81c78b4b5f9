/**
 * Bulk loading for the scale suite: appends filler messages straight into a relay's
 * SQLite file (the schema of relay/storage/sqlite-migrations.ts), with their Merkle log
 * nodes, far faster than deposits could. The store must not be open meanwhile.
 *
 * Filler messages are spread over 1,000 mailboxes (1,000 each at 1M, under the default
 * quota). Their leaves are random 32-byte hashes rather than hashes of receipt bodies
 * (nobody fetches them), but every inner node is the real RFC 9162 node hash, so the
 * tree, its checkpoints and the proofs served for real messages are genuine.
 */
import { createHash, randomBytes } from "node:crypto";
import Database from "better-sqlite3";

const FILL_MAILBOXES = 1000;
const BATCH = 20_000;

function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash("sha256").update(Uint8Array.of(1)).update(left).update(right).digest();
}

/** Appends messages until the log holds `target` leaves; returns how many were added. */
export function fill(path: string, target: number, envelope: Uint8Array, now: number): number {
  const db = new Database(path);
  try {
    // No journal while filling (nothing else has the file open; a crash only loses the
    // bench's temporary database). SqliteStore.open switches WAL back on.
    db.pragma("journal_mode = OFF");
    db.pragma("synchronous = OFF");
    db.pragma("cache_size = -262144"); // 256 MiB
    const size = (db.prepare("SELECT size FROM log_meta WHERE id = 0").get() as { size: number })
      .size;
    const getNode = db.prepare<[number, number], { hash: Buffer }>(
      "SELECT hash FROM log_nodes WHERE level = ? AND idx = ?",
    );
    const insertNode = db.prepare("INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)");
    const insertMessage = db.prepare(
      `INSERT INTO messages (id, mailbox, envelope, at, expires, receipt, log_index)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const setSize = db.prepare("UPDATE log_meta SET size = ? WHERE id = 0");
    // The last left sibling seen at each level, so appends read nothing back.
    const left = new Map<number, { idx: number; hash: Uint8Array }>();
    const sibling = (level: number, idx: number): Uint8Array => {
      const l = left.get(level);
      if (l?.idx === idx) return l.hash;
      const row = getNode.get(level, idx);
      if (!row) throw new Error(`log node ${level}/${idx} is missing`);
      return row.hash;
    };
    const receipt = randomBytes(64);
    const env = Buffer.from(envelope);
    const batch = db.transaction((from: number, to: number) => {
      const leaves = randomBytes(32 * (to - from));
      // Ids: the message number first, so that each mailbox's primary-key range grows at
      // its end (random ids would make a 1M fill several times slower), then random bytes.
      const ids = randomBytes(16 * (to - from));
      for (let n = from; n < to; n++) {
        const k = n - from;
        ids.writeUIntBE(n, 16 * k, 6);
        env.writeUInt32BE(n, env.length - 4);
        insertMessage.run(
          ids.subarray(16 * k, 16 * k + 16),
          `fill${n % FILL_MAILBOXES}`,
          env,
          now,
          now + 7 * 24 * 3600 * 1000,
          receipt,
          n,
        );
        let h: Uint8Array = leaves.subarray(32 * k, 32 * k + 32);
        let idx = n;
        let level = 0;
        insertNode.run(0, idx, h);
        while (idx % 2 === 1) {
          h = nodeHash(sibling(level, idx - 1), h);
          idx = (idx - 1) / 2;
          level++;
          insertNode.run(level, idx, h);
        }
        left.set(level, { idx, hash: h });
      }
      setSize.run(to);
    });
    // Secondary indexes are rebuilt once at the end (a sort) rather than updated row by
    // row: the same indexes, from the schema's own definitions.
    const indexes = db
      .prepare<[], { name: string; sql: string }>(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'messages' AND sql IS NOT NULL",
      )
      .all();
    for (const i of indexes) db.exec(`DROP INDEX ${i.name}`);
    for (let from = size; from < target; from += BATCH) batch(from, Math.min(target, from + BATCH));
    for (const i of indexes) db.exec(i.sql);
    return Math.max(0, target - size);
  } finally {
    db.close();
  }
}
