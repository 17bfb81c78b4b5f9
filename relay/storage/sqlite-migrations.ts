/**
 * The SQLite schema as forward-only migrations: `MIGRATIONS[i]` takes a database from
 * `PRAGMA user_version = i` to `i + 1`. Append new steps; never edit a released one.
 * `SqliteStore.open` runs the missing steps in one IMMEDIATE transaction and refuses a
 * database whose version is above `MIGRATIONS.length` (written by newer code).
 *
 * Tables are STRICT so that a wrongly typed value is an error, not a silent conversion.
 */
import type Database from "better-sqlite3";

export const MIGRATIONS: readonly string[] = [
  // 1: messages, directory, the Merkle log, checkpoints, nonces, rate limits.
  `
  CREATE TABLE messages (
    id BLOB NOT NULL,
    mailbox TEXT NOT NULL,
    envelope BLOB NOT NULL,
    at INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    receipt BLOB NOT NULL,
    log_index INTEGER NOT NULL UNIQUE,
    PRIMARY KEY (mailbox, id)
  ) STRICT;
  CREATE INDEX messages_by_index ON messages (mailbox, log_index);
  CREATE INDEX messages_by_expiry ON messages (expires);

  CREATE TABLE directory (
    name TEXT PRIMARY KEY NOT NULL,
    bundle BLOB NOT NULL,
    identity_key BLOB NOT NULL,
    created INTEGER NOT NULL,
    at INTEGER NOT NULL,
    signature BLOB NOT NULL,
    log_index INTEGER NOT NULL UNIQUE
  ) STRICT;

  -- Hashes of complete, aligned subtrees (protocol/merkle.ts NodeSource). Append-only.
  CREATE TABLE log_nodes (
    level INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE log_meta (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    size INTEGER NOT NULL
  ) STRICT;
  INSERT INTO log_meta (id, size) VALUES (0, 0);

  CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    at INTEGER NOT NULL,
    signature BLOB NOT NULL
  ) STRICT;

  CREATE TABLE nonces (
    key TEXT PRIMARY KEY NOT NULL,
    expires INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX nonces_by_expiry ON nonces (expires);

  -- window is floor(now / windowMs); expires is the window's end in ms, so that old
  -- windows can be pruned across keys that use different window lengths.
  CREATE TABLE rate_limits (
    key TEXT NOT NULL,
    window INTEGER NOT NULL,
    count INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    PRIMARY KEY (key, window)
  ) STRICT;
  CREATE INDEX rate_limits_by_expiry ON rate_limits (expires);
  `,
  // 2: the fetch's index also holds the expiry, so that the quota's count of a mailbox's
  // unexpired messages reads the index alone (one index, so no plan can pick the other).
  `
  CREATE INDEX messages_by_index_expiry ON messages (mailbox, log_index, expires);
  DROP INDEX messages_by_index;

  -- Messages per mailbox, expired ones not yet swept included, kept by triggers: below the
  -- quota, a deposit needs no count of the mailbox (an upper bound of the unexpired ones).
  CREATE TABLE mailbox_counts (
    mailbox TEXT PRIMARY KEY NOT NULL,
    n INTEGER NOT NULL
  ) STRICT, WITHOUT ROWID;
  INSERT INTO mailbox_counts (mailbox, n) SELECT mailbox, count(*) FROM messages GROUP BY mailbox;
  CREATE TRIGGER messages_counted_insert AFTER INSERT ON messages BEGIN
    INSERT INTO mailbox_counts (mailbox, n) VALUES (new.mailbox, 1)
    ON CONFLICT (mailbox) DO UPDATE SET n = n + 1;
  END;
  CREATE TRIGGER messages_counted_delete AFTER DELETE ON messages BEGIN
    UPDATE mailbox_counts SET n = n - 1 WHERE mailbox = old.mailbox;
  END;
  `,
];

/** Brings the schema up to date, or refuses a database written by newer code. */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > MIGRATIONS.length)
      throw new Error(
        `database schema version ${version} is newer than this relay knows (${MIGRATIONS.length}); upgrade the relay`,
      );
    for (let v = version; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}
