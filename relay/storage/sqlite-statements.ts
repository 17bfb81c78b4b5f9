/**
 * The SqliteStore's prepared statements (schema: sqlite-migrations.ts; row shapes:
 * rows.ts).
 */
import type Database from "better-sqlite3";
import type { CheckpointRow, EntryRow, FetchRow, MessageRow } from "./rows.js";

type Params = Record<string, unknown>;

export function prepareStatements(db: Database.Database) {
  const s = <R = unknown>(sql: string) => db.prepare<[Params], R>(sql);
  const none = <R = unknown>(sql: string) => db.prepare<[], R>(sql);
  return {
    message: s<MessageRow>("SELECT * FROM messages WHERE mailbox = @mailbox AND id = @id"),
    mailboxTotal: s<{ n: number }>("SELECT n FROM mailbox_counts WHERE mailbox = @mailbox"),
    countMailbox: s<{ n: number }>(
      "SELECT count(*) AS n FROM messages WHERE mailbox = @mailbox AND expires >= @now",
    ),
    insertMessage: s(
      `INSERT INTO messages (id, mailbox, envelope, at, expires, receipt, log_index)
       VALUES (@id, @mailbox, @envelope, @at, @expires, @receipt, @index)`,
    ),
    // Rows as arrays, without the mailbox (the caller knows it): the inbox's hot path.
    fetch: db
      .prepare<[Params], FetchRow>(
        `SELECT id, envelope, at, expires, receipt, log_index FROM messages
         WHERE mailbox = @mailbox AND expires >= @now ORDER BY log_index LIMIT @limit`,
      )
      .raw(true),
    deleteMessage: s("DELETE FROM messages WHERE mailbox = @mailbox AND id = @id"),
    expire: s("DELETE FROM messages WHERE expires < @now"),

    entry: s<EntryRow>("SELECT * FROM directory WHERE name = @name"),
    upsertEntry: s(
      `INSERT INTO directory (name, bundle, identity_key, created, at, signature, log_index)
       VALUES (@name, @bundle, @identityKey, @created, @at, @signature, @index)
       ON CONFLICT (name) DO UPDATE SET bundle = excluded.bundle,
         identity_key = excluded.identity_key, created = excluded.created, at = excluded.at,
         signature = excluded.signature, log_index = excluded.log_index`,
    ),

    logSize: none<{ size: number }>("SELECT size FROM log_meta WHERE id = 0"),
    setLogSize: s("UPDATE log_meta SET size = @size WHERE id = 0"),
    node: s<{ hash: Buffer }>("SELECT hash FROM log_nodes WHERE level = @level AND idx = @idx"),
    insertNode: s("INSERT INTO log_nodes (level, idx, hash) VALUES (@level, @idx, @hash)"),

    latestCheckpoint: none<CheckpointRow>("SELECT * FROM checkpoints ORDER BY size DESC LIMIT 1"),
    // Only a checkpoint above the latest is stored (RelayStore.putCheckpoint).
    putCheckpoint: s(
      `INSERT INTO checkpoints (size, root, at, signature)
       SELECT @size, @root, @at, @signature
       WHERE @size > (SELECT coalesce(max(size), -1) FROM checkpoints)`,
    ),
    // Never the latest: it is at least @size, whether or not this one was stored.
    pruneCheckpoints: s("DELETE FROM checkpoints WHERE size < @size"),

    useNonce: s(
      `INSERT INTO nonces (key, expires) VALUES (@key, @expires)
       ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE nonces.expires < @now`,
    ),
    pruneNonces: s(
      `DELETE FROM nonces WHERE rowid IN
       (SELECT rowid FROM nonces WHERE expires < @now LIMIT @batch)`,
    ),
    hit: s<{ count: number }>(
      `INSERT INTO rate_limits (key, window, count, expires) VALUES (@key, @window, @add, @expires)
       ON CONFLICT (key, window) DO UPDATE SET count = count + @add
       RETURNING count`,
    ),
    pruneRateLimits: s(
      `DELETE FROM rate_limits WHERE rowid IN
       (SELECT rowid FROM rate_limits WHERE expires <= @now LIMIT @batch)`,
    ),

    allEntries: none<EntryRow>("SELECT * FROM directory ORDER BY log_index"),
    allMessages: none<MessageRow>("SELECT * FROM messages ORDER BY log_index"),
    setEntrySignature: s("UPDATE directory SET signature = @signature WHERE name = @name"),
    setReceipt: s("UPDATE messages SET receipt = @receipt WHERE mailbox = @to AND id = @id"),
    deleteCheckpoints: none("DELETE FROM checkpoints"),

    health: none("SELECT 1"),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;
