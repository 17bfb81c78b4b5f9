/**
 * Bulk loading for the scale suite on PostgreSQL (schema: relay/storage/postgres-migrations.ts),
 * done by the server in set-based SQL: filler messages over 1,000 mailboxes, leaves as
 * arbitrary 32-byte hashes, and every inner node the real RFC 9162 node hash, level by
 * level, exactly the complete subtrees the store would have written (as scale-fill.ts).
 */
import type postgres from "postgres";

const FILL_MAILBOXES = 1000;

/** Appends messages until the log holds `target` leaves; returns how many were added. */
export async function fillPostgres(
  sql: postgres.Sql,
  target: number,
  envelope: Uint8Array,
  now: number,
): Promise<number> {
  return sql.begin(async (tx) => {
    const [meta] = await tx<{ size: string }[]>`SELECT size FROM log_meta WHERE id = 0 FOR UPDATE`;
    const size = Number(meta!.size);
    if (size >= target) return 0;
    await tx`SET LOCAL synchronous_commit = off`;
    // Secondary indexes are rebuilt once at the end (a sort) rather than row by row: the
    // same indexes, from their own definitions (constraint indexes stay).
    const indexes = await tx<{ indexname: string; indexdef: string }[]>`
      SELECT indexname, indexdef FROM pg_indexes
      WHERE schemaname = current_schema() AND tablename = 'messages'
        AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'messages'::regclass)`;
    for (const i of indexes) await tx.unsafe(`DROP INDEX "${i.indexname}"`);
    const env = Buffer.from(envelope);
    const receipt = Buffer.alloc(64, 7);
    await tx`
      INSERT INTO messages (mailbox, id, envelope, at, expires, receipt, log_index)
      SELECT 'fill' || (n % ${FILL_MAILBOXES}),
             int8send(n) || substr(sha256(int8send(n)), 1, 8),
             ${env}, ${now}, ${now + 7 * 24 * 3600 * 1000}, ${receipt}, n
      FROM generate_series(${size}::bigint, ${target - 1}::bigint) AS n`;
    await tx`
      INSERT INTO log_nodes (level, idx, hash)
      SELECT 0, n, sha256(int8send(n) || '\\x6c656166'::bytea)
      FROM generate_series(${size}::bigint, ${target - 1}::bigint) AS n`;
    // Level l gains the nodes idx in [size >> l, target >> l): both children exist now.
    for (let level = 1; target >> level > 0; level++) {
      const lo = size >> level;
      const hi = target >> level;
      if (lo >= hi) continue;
      await tx`
        INSERT INTO log_nodes (level, idx, hash)
        SELECT ${level}, a.idx / 2, sha256('\\x01'::bytea || a.hash || b.hash)
        FROM log_nodes a JOIN log_nodes b ON b.level = a.level AND b.idx = a.idx + 1
        WHERE a.level = ${level - 1} AND a.idx % 2 = 0
          AND a.idx >= ${2 * lo} AND a.idx < ${2 * hi}`;
    }
    for (const i of indexes) await tx.unsafe(i.indexdef);
    await tx`UPDATE log_meta SET size = ${target} WHERE id = 0`;
    await tx`ANALYZE messages`;
    await tx`ANALYZE log_nodes`;
    return target - size;
  }) as Promise<number>;
}
