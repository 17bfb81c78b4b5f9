/**
 * The scale-out relay store (DESIGN §4): one PostgreSQL database shared by any number of
 * stateless relay processes, through postgres.js. Same contract as SqliteStore
 * (types.ts), same tables (postgres-migrations.ts). Appends to the Merkle log are
 * serialized by a row lock, so they never fork (postgres-writes.ts), and a deposit
 * NOTIFYs the other processes when it commits (postgres-notify.ts).
 *
 * Failures of the database or the connection are StoreUnavailable (a 503). While the
 * database is unreachable, calls fail at once and connection attempts back off (up to
 * 1 s apart; postgres-socket.ts); postgres.js opens connections on demand, so once the
 * database is back the next call after the backoff succeeds: no restart is needed.
 */
import { randomUUID } from "node:crypto";
import type postgres from "postgres";
import { StoreUnavailable } from "./errors.js";
import {
  type Connection,
  connect,
  isRetryable,
  type PostgresOptions,
  unavailable,
} from "./postgres-connect.js";
import { migrate } from "./postgres-migrations.js";
import { channelName, DepositListener } from "./postgres-notify.js";
import {
  type CheckpointRow,
  type EntryRow,
  type MessageRow,
  toCheckpoint,
  toEntry,
  toMessage,
} from "./postgres-rows.js";
import { depositManyTx, depositTx, putEntryTx, resignTx } from "./postgres-writes.js";
import type {
  Deposit,
  DepositNotice,
  DepositResult,
  PutEntryResult,
  RelayStore,
  StoredCheckpoint,
  StoredEntry,
  StoredMessage,
} from "./types.js";

export type { PostgresOptions } from "./postgres-connect.js";

/** Expired nonces and rate-limit windows are pruned every this many calls, in bounded batches. */
const PRUNE_EVERY = 64;
const PRUNE_BATCH = 1000;
/** A transaction that lost a deadlock or serialization race is run again this many times. */
const ATTEMPTS = 3;

type Tx = postgres.TransactionSql;

function checkInt(value: number, name: string, min = 0): void {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be a safe integer`);
  if (value < min) throw new RangeError(`${name} must be at least ${min}`);
}

export class PostgresStore implements RelayStore {
  readonly #sql: postgres.Sql;
  readonly #schema: string;
  /** Ms until the pool tries to connect again after a failed attempt (postgres-socket.ts). */
  readonly #retryIn: () => number;
  /** For the LISTEN connection, which subscribe() opens apart from the pool. */
  readonly #url: string;
  readonly #options: PostgresOptions;
  /** Tells this store's own notices from those of other processes. */
  readonly #origin = randomUUID();
  readonly #listeners = new Set<DepositListener>();
  #closed = false;
  #calls = 0;

  private constructor(c: Connection, url: string, options: PostgresOptions) {
    this.#sql = c.sql;
    this.#schema = c.schema;
    this.#retryIn = c.retryIn;
    this.#url = url;
    this.#options = options;
  }

  /**
   * Connects to `url` (postgres://user@host:port/database[?schema=NAME]), creating the
   * schema and migrating it if needed. Safe when several processes open at once.
   */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const c = connect(url, options);
    const { sql, schema } = c;
    try {
      await migrate(sql, schema);
    } catch (e) {
      await sql.end({ timeout: 1 }).catch(() => undefined);
      const u = unavailable(e);
      if (u instanceof StoreUnavailable && u.cause instanceof Error)
        throw new StoreUnavailable(`cannot open the PostgreSQL store: ${u.cause.message}`, {
          cause: u.cause,
        });
      throw u;
    }
    return new PostgresStore(c, url, options);
  }

  /** The schema holding this store's tables. */
  get schema(): string {
    return this.#schema;
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreUnavailable("store is closed");
    // The database was unreachable moments ago: answer at once rather than queue behind
    // the backoff (postgres-socket.ts). A call after the backoff tries again.
    const wait = this.#retryIn();
    if (wait > 0)
      throw new StoreUnavailable(
        `storage unavailable: database unreachable, retrying in ${wait} ms`,
      );
  }

  /** Runs one query (or a few, outside a transaction), turning failures into StoreUnavailable. */
  async #run<T>(fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
    this.#checkOpen();
    try {
      return await fn(this.#sql);
    } catch (e) {
      throw unavailable(e);
    }
  }

  /** Runs `fn` in a transaction (READ COMMITTED), again if it lost a deadlock. */
  async #tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    this.#checkOpen();
    for (let attempt = 1; ; attempt++) {
      try {
        return (await this.#sql.begin(fn)) as T;
      } catch (e) {
        if (attempt < ATTEMPTS && isRetryable(e)) continue;
        throw unavailable(e);
      }
    }
  }

  /** True once every PRUNE_EVERY calls: time to sweep expired nonces and rate-limit windows. */
  #pruneDue(): boolean {
    this.#calls = (this.#calls + 1) % PRUNE_EVERY;
    return this.#calls === 0;
  }

  async deposit(
    m: Omit<StoredMessage, "index">,
    leaf: Uint8Array,
    maxPerMailbox: number,
  ): Promise<DepositResult> {
    checkInt(m.at, "at");
    checkInt(m.expires, "expires");
    checkInt(maxPerMailbox, "maxPerMailbox");
    const notice = { channel: channelName(this.#schema), origin: this.#origin };
    return this.#tx((tx) => depositTx(tx, m, leaf, maxPerMailbox, notice));
  }

  async depositMany(items: Deposit[], maxPerMailbox: number): Promise<DepositResult[]> {
    for (const { message: m } of items) {
      checkInt(m.at, "at");
      checkInt(m.expires, "expires");
    }
    checkInt(maxPerMailbox, "maxPerMailbox");
    if (items.length === 0) return [];
    const notice = { channel: channelName(this.#schema), origin: this.#origin };
    return this.#tx((tx) => depositManyTx(tx, items, maxPerMailbox, notice));
  }

  async fetch(to: string, limit: number, now: number): Promise<StoredMessage[]> {
    checkInt(limit, "limit");
    checkInt(now, "now");
    const rows = await this.#run(
      (sql) => sql<MessageRow[]>`
        SELECT * FROM messages WHERE mailbox = ${to} AND expires >= ${now}
        ORDER BY log_index LIMIT ${limit}`,
    );
    return rows.map(toMessage);
  }

  async ack(to: string, ids: Uint8Array[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.#tx(async (tx) => {
      const deleted = await Promise.all(
        ids.map((id) => tx`DELETE FROM messages WHERE mailbox = ${to} AND id = ${id}`),
      );
      return deleted.reduce((n, r) => n + r.count, 0);
    });
  }

  async expire(now: number): Promise<number> {
    checkInt(now, "now");
    const r = await this.#run((sql) => sql`DELETE FROM messages WHERE expires < ${now}`);
    return r.count;
  }

  async putEntry(e: Omit<StoredEntry, "index">, leaf: Uint8Array): Promise<PutEntryResult> {
    checkInt(e.created, "created");
    checkInt(e.at, "at");
    return this.#tx((tx) => putEntryTx(tx, e, leaf));
  }

  async getEntry(name: string): Promise<StoredEntry | undefined> {
    const [row] = await this.#run(
      (sql) => sql<EntryRow[]>`SELECT * FROM directory WHERE name = ${name}`,
    );
    return row && toEntry(row);
  }

  async logSize(): Promise<number> {
    const [row] = await this.#run(
      (sql) => sql<{ size: number }[]>`SELECT size FROM log_meta WHERE id = 0`,
    );
    return row!.size;
  }

  async node(level: number, index: number): Promise<Uint8Array> {
    checkInt(level, "level");
    checkInt(index, "index");
    const [row] = await this.#run(
      (sql) => sql<{ hash: Buffer }[]>`
        SELECT hash FROM log_nodes WHERE level = ${level} AND idx = ${index}`,
    );
    if (!row) throw new Error(`log node ${level}/${index} is missing`);
    return new Uint8Array(row.hash);
  }

  async nodes(keys: { level: number; index: number }[]): Promise<Uint8Array[]> {
    for (const k of keys) {
      checkInt(k.level, "level");
      checkInt(k.index, "index");
    }
    if (keys.length === 0) return [];
    const levels = [...new Set(keys.map((k) => k.level))];
    const idxs = [...new Set(keys.map((k) => k.index))];
    // One query: a superset of the nodes asked for, picked below.
    const rows = await this.#run(
      (sql) => sql<{ level: number; idx: number; hash: Buffer }[]>`
        SELECT level, idx, hash FROM log_nodes WHERE level IN ${sql(levels)} AND idx IN ${sql(idxs)}`,
    );
    const got = new Map(rows.map((r) => [`${r.level}/${r.idx}`, r.hash]));
    return keys.map((k) => {
      const hash = got.get(`${k.level}/${k.index}`);
      if (!hash) throw new Error(`log node ${k.level}/${k.index} is missing`);
      return new Uint8Array(hash);
    });
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const [row] = await this.#run(
      (sql) => sql<CheckpointRow[]>`SELECT * FROM checkpoints ORDER BY size DESC LIMIT 1`,
    );
    return row && toCheckpoint(row);
  }

  async putCheckpoint(c: StoredCheckpoint): Promise<void> {
    checkInt(c.size, "size");
    checkInt(c.at, "at");
    // Only a checkpoint above the latest is stored; of two processes signing the same size
    // at once, the first one's stays (both are valid: same size, same root).
    await this.#run(
      (sql) => sql`
        INSERT INTO checkpoints (size, root, at, signature)
        SELECT ${c.size}, ${c.root}, ${c.at}, ${c.signature}
        WHERE ${c.size} > (SELECT coalesce(max(size), -1) FROM checkpoints)
        ON CONFLICT (size) DO NOTHING`,
    );
  }

  /**
   * Nonces and rate-limit windows are soft state (docs/protocol.md §13.7): their one-statement
   * transactions commit without waiting for the WAL flush. The setting is local to that
   * transaction; they are visible to every other process at once, as any commit.
   */
  async useNonce(key: string, expires: number, now: number): Promise<boolean> {
    checkInt(expires, "expires");
    checkInt(now, "now");
    return this.#run(async (sql) => {
      const soft = sql`(SELECT set_config('synchronous_commit', 'off', true)) AS soft`;
      if (this.#pruneDue())
        await sql`DELETE FROM nonces WHERE key IN
          (SELECT key FROM nonces WHERE expires < ${now} LIMIT ${PRUNE_BATCH})`;
      // Inserts, or replaces an expired record; no row means a live record: a replay.
      const r = await sql`
        INSERT INTO nonces (key, expires) SELECT ${key}, ${expires} FROM ${soft}
        ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE nonces.expires < ${now}`;
      return r.count === 1;
    });
  }

  async rateLimit(key: string, windowMs: number, limit: number, now: number): Promise<boolean> {
    checkInt(windowMs, "windowMs", 1);
    checkInt(limit, "limit");
    checkInt(now, "now");
    const window = Math.floor(now / windowMs);
    return this.#run(async (sql) => {
      const soft = sql`(SELECT set_config('synchronous_commit', 'off', true)) AS soft`;
      if (this.#pruneDue())
        await sql`DELETE FROM rate_limits WHERE ctid IN
          (SELECT ctid FROM rate_limits WHERE expires <= ${now} LIMIT ${PRUNE_BATCH})`;
      const [row] = await sql<{ count: number }[]>`
        INSERT INTO rate_limits (key, window_no, count, expires)
        SELECT ${key}, ${window}, 1, ${(window + 1) * windowMs} FROM ${soft}
        ON CONFLICT (key, window_no) DO UPDATE SET count = rate_limits.count + 1
        RETURNING count`;
      return row!.count <= limit;
    });
  }

  async allEntries(): Promise<StoredEntry[]> {
    const rows = await this.#run(
      (sql) => sql<EntryRow[]>`SELECT * FROM directory ORDER BY log_index`,
    );
    return rows.map(toEntry);
  }

  async allMessages(): Promise<StoredMessage[]> {
    const rows = await this.#run(
      (sql) => sql<MessageRow[]>`SELECT * FROM messages ORDER BY log_index`,
    );
    return rows.map(toMessage);
  }

  async resign(
    entries: { name: string; signature: Uint8Array }[],
    messages: { to: string; id: Uint8Array; receipt: Uint8Array }[],
  ): Promise<void> {
    await this.#tx((tx) => resignTx(tx, entries, messages));
  }

  async subscribe(
    onDeposit: (n: DepositNotice) => void,
    onError: (e: unknown) => void,
  ): Promise<() => Promise<void>> {
    const listener = await this.#run(() =>
      DepositListener.start({
        url: this.#url,
        options: this.#options,
        schema: this.#schema,
        origin: this.#origin,
        onDeposit,
        onError,
      }),
    );
    this.#listeners.add(listener);
    return async () => {
      if (this.#listeners.delete(listener)) await listener.stop();
    };
  }

  async health(): Promise<void> {
    await this.#run((sql) => sql`SELECT 1`);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    // Lets queries in flight finish for a moment, then cuts the connections.
    await Promise.all([...listeners.map((l) => l.stop()), this.#sql.end({ timeout: 5 })]);
  }
}
