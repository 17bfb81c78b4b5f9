/**
 * Bulk loading for the scale suite on PostgreSQL (schema: relay/storage/postgres-migrations.ts),
 * done by the server in set-based SQL: filler messages over 1,000 mailboxes, leaves as
 * arbitrary 32-byte hashes, and every inner node the real RFC 9162 node hash, level by
 * level, exactly the complete subtrees the store would have written (as scale-fill.ts).
 */
import type pg from "pg";

const FILL_MAILBOXES = 1000;

/**
 * Appends messages until the log holds `target` leaves; returns how many were added.
 * `client` is a connection of its own whose search_path is the store's schema.
 */
export async function fillPostgres(
  client: pg.Client,
  target: number,
  envelope: Uint8Array,
  now: number,
): Promise<number> {
  const q = (text: string, values: unknown[] = []) => client.query(text, values);
  await q("BEGIN");
  try {
    const meta = await q("SELECT size FROM log_meta WHERE id = 0 FOR UPDATE");
    const size = Number(meta.rows[0].size);
    if (size >= target) {
      await q("ROLLBACK");
      return 0;
    }
    await q("SET LOCAL synchronous_commit = off");
    // Secondary indexes are rebuilt once at the end (a sort) rather than row by row: the
    // same indexes, from their own definitions (constraint indexes stay).
    const indexes = await q(`
      SELECT indexname, indexdef FROM pg_indexes
      WHERE schemaname = current_schema() AND tablename = 'messages'
        AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'messages'::regclass)`);
    const defs = indexes.rows as { indexname: string; indexdef: string }[];
    for (const i of defs) await q(`DROP INDEX "${i.indexname}"`);
    const env = Buffer.from(envelope);
    const receipt = Buffer.alloc(64, 7);
    await q(
      `INSERT INTO messages (mailbox, id, envelope, at, expires, receipt, log_index)
       SELECT 'fill' || (n % $1), int8send(n) || substr(sha256(int8send(n)), 1, 8),
              $2, $3, $4, $5, n
       FROM generate_series($6::bigint, $7::bigint) AS n`,
      [FILL_MAILBOXES, env, now, now + 7 * 24 * 3600 * 1000, receipt, size, target - 1],
    );
    await q(
      `INSERT INTO log_nodes (level, idx, hash)
       SELECT 0, n, sha256(int8send(n) || '\\x6c656166'::bytea)
       FROM generate_series($1::bigint, $2::bigint) AS n`,
      [size, target - 1],
    );
    // Level l gains the nodes idx in [size >> l, target >> l): both children exist now.
    for (let level = 1; target >> level > 0; level++) {
      const lo = size >> level;
      const hi = target >> level;
      if (lo >= hi) continue;
      await q(
        `INSERT INTO log_nodes (level, idx, hash)
         SELECT $1::int, a.idx / 2, sha256('\\x01'::bytea || a.hash || b.hash)
         FROM log_nodes a JOIN log_nodes b ON b.level = a.level AND b.idx = a.idx + 1
         WHERE a.level = $2::int AND a.idx % 2 = 0 AND a.idx >= $3::bigint AND a.idx < $4::bigint`,
        [level, level - 1, 2 * lo, 2 * hi],
      );
    }
    for (const i of defs) await q(i.indexdef);
    await q("UPDATE log_meta SET size = $1 WHERE id = 0", [target]);
    await q("COMMIT");
    await q("ANALYZE messages");
    await q("ANALYZE log_nodes");
    return target - size;
  } catch (e) {
    await q("ROLLBACK").catch(() => undefined);
    throw e;
  }
}
