/**
 * The PostgreSQL schema as forward-only migrations: `MIGRATIONS[i]` takes a schema from
 * version i to i + 1 (the one row of `schema_version`). Append new steps; never edit a
 * released one. The tables mirror sqlite-migrations.ts, so both backends keep the same
 * data the same way.
 *
 * `migrate` runs on every start, in one transaction under a transaction-level advisory
 * lock keyed by the schema name: relay processes that start at once take turns, and the
 * ones that come second find the schema current and change nothing.
 */
import pg from "pg";
import { long } from "./postgres-connect.js";
import type { PostgresPool } from "./postgres-pool.js";

export const MIGRATIONS: readonly string[] = [
  // 1: messages, directory, the Merkle log, checkpoints, nonces, rate limits.
  `
  CREATE TABLE messages (
    mailbox text NOT NULL,
    id bytea NOT NULL,
    envelope bytea NOT NULL,
    at bigint NOT NULL,
    expires bigint NOT NULL,
    receipt bytea NOT NULL,
    log_index bigint NOT NULL UNIQUE,
    PRIMARY KEY (mailbox, id)
  );
  CREATE INDEX messages_by_index ON messages (mailbox, log_index);
  CREATE INDEX messages_by_expiry ON messages (expires);

  CREATE TABLE directory (
    name text PRIMARY KEY,
    bundle bytea NOT NULL,
    identity_key bytea NOT NULL,
    created bigint NOT NULL,
    at bigint NOT NULL,
    signature bytea NOT NULL,
    log_index bigint NOT NULL UNIQUE
  );

  -- Hashes of complete, aligned subtrees (protocol/merkle.ts NodeSource). Append-only.
  CREATE TABLE log_nodes (
    level integer NOT NULL,
    idx bigint NOT NULL,
    hash bytea NOT NULL,
    PRIMARY KEY (level, idx)
  );

  -- One row: the log's size. Every append locks it FOR UPDATE first, which serializes
  -- appends across every connection and process (postgres.ts).
  CREATE TABLE log_meta (
    id integer PRIMARY KEY CHECK (id = 0),
    size bigint NOT NULL
  );
  INSERT INTO log_meta (id, size) VALUES (0, 0);

  CREATE TABLE checkpoints (
    size bigint PRIMARY KEY,
    root bytea NOT NULL,
    at bigint NOT NULL,
    signature bytea NOT NULL
  );

  CREATE TABLE nonces (
    key text PRIMARY KEY,
    expires bigint NOT NULL
  );
  CREATE INDEX nonces_by_expiry ON nonces (expires);

  -- window_no is floor(now / windowMs); expires is the window's end in ms, so that old
  -- windows can be pruned across keys that use different window lengths.
  CREATE TABLE rate_limits (
    key text NOT NULL,
    window_no bigint NOT NULL,
    count integer NOT NULL,
    expires bigint NOT NULL,
    PRIMARY KEY (key, window_no)
  );
  CREATE INDEX rate_limits_by_expiry ON rate_limits (expires);
  `,
  // 2: the fetch's index also holds the expiry, so that the quota's count of a mailbox's
  // unexpired messages can read the index alone (one index, so no plan can pick another).
  `
  CREATE INDEX messages_by_index_expiry ON messages (mailbox, log_index) INCLUDE (expires);
  DROP INDEX messages_by_index;

  -- Messages per mailbox, expired ones not yet swept included, kept by statement triggers:
  -- below the quota, a deposit needs no count of the mailbox (an upper bound of the
  -- unexpired ones). Rows are locked in mailbox order, so two writers cannot deadlock.
  CREATE TABLE mailbox_counts (
    mailbox text PRIMARY KEY,
    n bigint NOT NULL
  );
  INSERT INTO mailbox_counts (mailbox, n) SELECT mailbox, count(*) FROM messages GROUP BY mailbox;
  CREATE FUNCTION messages_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO mailbox_counts (mailbox, n)
      SELECT mailbox, count(*) FROM new_rows GROUP BY mailbox ORDER BY mailbox
    ON CONFLICT (mailbox) DO UPDATE SET n = mailbox_counts.n + excluded.n;
    RETURN NULL;
  END $$;
  CREATE FUNCTION messages_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE r record;
  BEGIN
    FOR r IN SELECT mailbox, count(*) AS n FROM old_rows GROUP BY mailbox ORDER BY mailbox LOOP
      UPDATE mailbox_counts SET n = n - r.n WHERE mailbox = r.mailbox;
    END LOOP;
    RETURN NULL;
  END $$;
  CREATE TRIGGER messages_counted_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_counted_insert();
  CREATE TRIGGER messages_counted_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION messages_counted_delete();
  `,
];

const UNBOUNDED = { unbounded: true };

/** The advisory lock's first key ("SMSG"); the second is the schema name's hash. */
const LOCK_CLASS = 0x534d5347;

/** Creates the schema if needed and brings it up to date, or refuses one written by newer code. */
export async function migrate(db: PostgresPool, schema: string): Promise<void> {
  // Unbounded: a migration may take long on a big table.
  await db.tx(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1::integer, hashtext($2))", [LOCK_CLASS, schema]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(schema)}`);
    // The connection's search_path named the schema before it existed: set it again.
    await tx.query("SELECT set_config('search_path', $1, true)", [schema]);
    await tx.query(`
      CREATE TABLE IF NOT EXISTS schema_version (
        id integer PRIMARY KEY CHECK (id = 0),
        version integer NOT NULL
      )`);
    await tx.query(
      "INSERT INTO schema_version (id, version) VALUES (0, 0) ON CONFLICT (id) DO NOTHING",
    );
    const { rows } = await tx.query<{ version: number }>(
      "SELECT version FROM schema_version WHERE id = 0",
    );
    const version = rows[0]!.version;
    if (version > MIGRATIONS.length)
      throw new Error(
        `database schema version ${version} is newer than this relay knows (${MIGRATIONS.length}); upgrade the relay`,
      );
    for (let v = version; v < MIGRATIONS.length; v++) {
      // No parameters: sent as a simple query, which may hold several statements.
      await tx.query(long(MIGRATIONS[v]!));
      await tx.query("UPDATE schema_version SET version = $1 WHERE id = 0", [v + 1]);
    }
  }, UNBOUNDED);
}
