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
import type postgres from "postgres";

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
];

/** The advisory lock's first key ("SMSG"); the second is the schema name's hash. */
const LOCK_CLASS = 0x534d5347;

/** Creates the schema if needed and brings it up to date, or refuses one written by newer code. */
export async function migrate(sql: postgres.Sql, schema: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_CLASS}::integer, hashtext(${schema}))`;
    await tx`CREATE SCHEMA IF NOT EXISTS ${tx(schema)}`;
    // The connection's search_path named the schema before it existed: set it again.
    await tx`SELECT set_config('search_path', ${schema}, true)`;
    await tx`
      CREATE TABLE IF NOT EXISTS schema_version (
        id integer PRIMARY KEY CHECK (id = 0),
        version integer NOT NULL
      )`;
    await tx`INSERT INTO schema_version (id, version) VALUES (0, 0) ON CONFLICT (id) DO NOTHING`;
    const [row] = await tx<{ version: number }[]>`SELECT version FROM schema_version WHERE id = 0`;
    const version = row!.version;
    if (version > MIGRATIONS.length)
      throw new Error(
        `database schema version ${version} is newer than this relay knows (${MIGRATIONS.length}); upgrade the relay`,
      );
    for (let v = version; v < MIGRATIONS.length; v++) {
      await tx.unsafe(MIGRATIONS[v]!);
      await tx`UPDATE schema_version SET version = ${v + 1} WHERE id = 0`;
    }
  });
}
