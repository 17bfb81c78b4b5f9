/**
 * The PostgresStore's soft state (docs/protocol.md §13.7): request nonces and rate-limit
 * windows, shared by every relay process, so that a replay or a burst spread over
 * several processes is still caught. Their one-statement transactions commit without
 * waiting for the WAL flush: the setting is local to that transaction (the `soft`
 * subquery), and they are visible to every other process at once, as any commit.
 *
 * Expired rows are pruned every PRUNE_EVERY calls, in bounded batches.
 */
import type { Conn } from "./postgres-pool.js";
import type { RateLimitHits } from "./types.js";

const PRUNE_EVERY = 64;
const PRUNE_BATCH = 1000;

const SOFT = "(SELECT set_config('synchronous_commit', 'off', true)) AS soft";

export class SoftState {
  #calls = 0;

  /** True once every PRUNE_EVERY calls: time to sweep expired nonces and rate-limit windows. */
  #pruneDue(): boolean {
    this.#calls = (this.#calls + 1) % PRUNE_EVERY;
    return this.#calls === 0;
  }

  /** RelayStore.useNonce: false if `key` is recorded and unexpired (a replay). */
  async useNonce(c: Conn, key: string, expires: number, now: number): Promise<boolean> {
    if (this.#pruneDue())
      await c.query(
        `DELETE FROM nonces WHERE key IN
         (SELECT key FROM nonces WHERE expires < $1 LIMIT $2)`,
        [now, PRUNE_BATCH],
      );
    // Inserts, or replaces an expired record; no row means a live record: a replay.
    const r = await c.query(
      `INSERT INTO nonces (key, expires) SELECT $1::text, $2::bigint FROM ${SOFT}
       ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE nonces.expires < $3`,
      [key, expires, now],
    );
    return r.rowCount === 1;
  }

  /** RelayStore.addHits: one statement for every key; the keys are distinct. */
  async addHits(c: Conn, given: RateLimitHits[], now: number): Promise<number[]> {
    let hits = given;
    if (this.#pruneDue())
      await c.query(
        `DELETE FROM rate_limits WHERE ctid IN
         (SELECT ctid FROM rate_limits WHERE expires <= $1 LIMIT $2)`,
        [now, PRUNE_BATCH],
      );
    // Rows are locked in the order given: the same order (by key) in every process, so
    // that two processes counting the same keys cannot deadlock.
    hits = [...hits].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const windows = hits.map((h) => Math.floor(now / h.windowMs));
    const { rows } = await c.query<{ key: string; count: number }>(
      `INSERT INTO rate_limits (key, window_no, count, expires)
       SELECT t.key, t.window_no, t.add, t.expires
       FROM unnest($1::text[], $2::bigint[], $3::int[], $4::bigint[]) AS t(key, window_no, add, expires),
            ${SOFT}
       ON CONFLICT (key, window_no) DO UPDATE SET count = rate_limits.count + excluded.count
       RETURNING key, count`,
      [
        hits.map((h) => h.key),
        windows,
        hits.map((h) => h.add),
        hits.map((h, i) => (windows[i]! + 1) * h.windowMs),
      ],
    );
    const counts = new Map(rows.map((r) => [r.key, r.count]));
    return given.map((h) => {
      const n = counts.get(h.key);
      if (n === undefined) throw new Error("a rate-limit window was not counted");
      return n;
    });
  }
}
