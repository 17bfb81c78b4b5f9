/**
 * The scale-out relay store (DESIGN §4): one PostgreSQL database shared by any number of
 * stateless relay processes, through node-postgres (`pg`). Same contract as SqliteStore
 * (types.ts), same tables (postgres-migrations.ts). Appends to the Merkle log are
 * serialized by a row lock, so they never fork (postgres-writes.ts), and a deposit
 * NOTIFYs the other processes when it commits (postgres-notify.ts).
 *
 * Failures of the database or the connection are StoreUnavailable (a 503). While the
 * database is unreachable, calls fail at once and connection attempts back off (up to
 * 1 s apart; postgres-pool.ts); the pool opens connections on demand, so once the
 * database is back the next call after the backoff succeeds: no restart is needed.
 */
import { randomUUID } from "node:crypto";
import { StoreUnavailable } from "./errors.js";
import {
  type ConnectionSettings,
  long,
  type PostgresOptions,
  settings,
} from "./postgres-connect.js";
import { unavailable } from "./postgres-errors.js";
import { SoftState } from "./postgres-limits.js";
import { migrate } from "./postgres-migrations.js";
import { channelName, DepositListener } from "./postgres-notify.js";
import { PostgresPool } from "./postgres-pool.js";
import { depositManyTx, depositTx, putEntryTx, readNodes, resignTx } from "./postgres-writes.js";
import {
  type CheckpointRow,
  type EntryRow,
  type MessageRow,
  toCheckpoint,
  toEntry,
  toMessage,
} from "./rows.js";
import type {
  Deposit,
  DepositNotice,
  DepositResult,
  PutEntryResult,
  RateLimitHits,
  RelayStore,
  SignReceipts,
  StoredCheckpoint,
  StoredEntry,
  StoredMessage,
} from "./types.js";

export type { PostgresOptions } from "./postgres-connect.js";

const UNBOUNDED = { unbounded: true };

function checkInt(value: number, name: string, min = 0): void {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be a safe integer`);
  if (value < min) throw new RangeError(`${name} must be at least ${min}`);
}

export class PostgresStore implements RelayStore {
  readonly #db: PostgresPool;
  /** For the LISTEN connections, which subscribe() opens apart from the pool. */
  readonly #settings: ConnectionSettings;
  /** Tells this store's own notices from those of other processes. */
  readonly #origin = randomUUID();
  readonly #listeners = new Set<DepositListener>();
  readonly #soft = new SoftState();
  #closed = false;

  private constructor(db: PostgresPool, s: ConnectionSettings) {
    this.#db = db;
    this.#settings = s;
  }

  /**
   * Connects to `url` (postgres://user@host:port/database[?schema=NAME]), creating the
   * schema and migrating it if needed. Safe when several processes open at once.
   */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresStore> {
    const s = settings(url, options);
    const db = new PostgresPool(s);
    try {
      await migrate(db, s.schema);
    } catch (e) {
      await db.close();
      if (e instanceof StoreUnavailable && e.cause instanceof Error) {
        const cause = e.cause as Error & { code?: unknown };
        // An AggregateError (every address refused) has an empty message but a code.
        const why = cause.message || String(cause.code ?? e.message);
        throw new StoreUnavailable(`cannot open the PostgreSQL store: ${why}`, { cause });
      }
      throw e;
    }
    return new PostgresStore(db, s);
  }

  /** The schema holding this store's tables. */
  get schema(): string {
    return this.#settings.schema;
  }

  #notice(): { channel: string; origin: string } {
    return { channel: channelName(this.#settings.schema), origin: this.#origin };
  }

  async deposit(
    m: Omit<StoredMessage, "index">,
    leaf: Uint8Array,
    maxPerMailbox: number,
  ): Promise<DepositResult> {
    checkInt(m.at, "at");
    checkInt(m.expires, "expires");
    checkInt(maxPerMailbox, "maxPerMailbox");
    const notice = this.#notice();
    return this.#db.tx((tx) => depositTx(tx, m, leaf, maxPerMailbox, notice));
  }

  async depositMany(
    items: Deposit[],
    maxPerMailbox: number,
    sign: SignReceipts,
  ): Promise<DepositResult[]> {
    for (const { message: m } of items) {
      checkInt(m.at, "at");
      checkInt(m.expires, "expires");
    }
    checkInt(maxPerMailbox, "maxPerMailbox");
    if (items.length === 0) return [];
    const notice = this.#notice();
    return this.#db.tx((tx) => depositManyTx(tx, items, maxPerMailbox, sign, notice));
  }

  async fetch(
    to: string,
    limit: number,
    now: number,
    maxBytes = Number.MAX_SAFE_INTEGER,
  ): Promise<StoredMessage[]> {
    checkInt(limit, "limit");
    checkInt(now, "now");
    checkInt(maxBytes, "maxBytes", 1);
    // The page's running total of envelope sizes, from the lengths alone (octet_length
    // reads a TOASTed value's size without its bytes); envelopes are read for the rows
    // kept only: the first, and those within maxBytes.
    const { rows } = await this.#db.use((c) =>
      c.query<MessageRow>(
        `SELECT m.* FROM (
           SELECT log_index, octet_length(envelope) AS len,
                  sum(octet_length(envelope)) OVER (ORDER BY log_index) AS total
           FROM messages WHERE mailbox = $1 AND expires >= $2
           ORDER BY log_index LIMIT $3) AS page
         JOIN messages m ON m.log_index = page.log_index
         WHERE page.total <= $4 OR page.total = page.len
         ORDER BY m.log_index`,
        [to, now, limit, maxBytes],
      ),
    );
    return rows.map(toMessage);
  }

  async ack(to: string, ids: Uint8Array[]): Promise<number> {
    if (ids.length === 0) return 0;
    // One statement: atomic on its own.
    const r = await this.#db.use((c) =>
      c.query("DELETE FROM messages WHERE mailbox = $1 AND id = ANY($2::bytea[])", [to, ids]),
    );
    return r.rowCount ?? 0;
  }

  async expire(now: number): Promise<number> {
    checkInt(now, "now");
    const r = await this.#db.use((c) => c.query("DELETE FROM messages WHERE expires < $1", [now]));
    return r.rowCount ?? 0;
  }

  async putEntry(e: Omit<StoredEntry, "index">, leaf: Uint8Array): Promise<PutEntryResult> {
    checkInt(e.created, "created");
    checkInt(e.at, "at");
    return this.#db.tx((tx) => putEntryTx(tx, e, leaf));
  }

  async getEntry(name: string): Promise<StoredEntry | undefined> {
    const { rows } = await this.#db.use((c) =>
      c.query<EntryRow>("SELECT * FROM directory WHERE name = $1", [name]),
    );
    return rows[0] && toEntry(rows[0]);
  }

  async logSize(): Promise<number> {
    const { rows } = await this.#db.use((c) =>
      c.query<{ size: number }>("SELECT size FROM log_meta WHERE id = 0"),
    );
    return rows[0]!.size;
  }

  async node(level: number, index: number): Promise<Uint8Array> {
    const [hash] = await this.nodes([{ level, index }]);
    return hash!;
  }

  async nodes(keys: { level: number; index: number }[]): Promise<Uint8Array[]> {
    for (const k of keys) {
      checkInt(k.level, "level");
      checkInt(k.index, "index");
    }
    if (keys.length === 0) return [];
    return this.#db.use((c) => readNodes(c, keys));
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const { rows } = await this.#db.use((c) =>
      c.query<CheckpointRow>("SELECT * FROM checkpoints ORDER BY size DESC LIMIT 1"),
    );
    return rows[0] && toCheckpoint(rows[0]);
  }

  async putCheckpoint(cp: StoredCheckpoint): Promise<void> {
    checkInt(cp.size, "size");
    checkInt(cp.at, "at");
    // Only a checkpoint above the latest is stored; of two processes signing the same size
    // at once, the first one's stays (both are valid: same size, same root).
    await this.#db.use((c) =>
      c.query(
        `INSERT INTO checkpoints (size, root, at, signature)
         SELECT $1::bigint, $2::bytea, $3::bigint, $4::bytea
         WHERE $1::bigint > (SELECT coalesce(max(size), -1) FROM checkpoints)
         ON CONFLICT (size) DO NOTHING`,
        [cp.size, cp.root, cp.at, cp.signature],
      ),
    );
    // Never the latest: it is at least this size, whether or not this one was stored.
    await this.#db.use((c) => c.query("DELETE FROM checkpoints WHERE size < $1", [cp.size]));
  }

  async useNonce(key: string, expires: number, now: number): Promise<boolean> {
    checkInt(expires, "expires");
    checkInt(now, "now");
    return this.#db.use((c) => this.#soft.useNonce(c, key, expires, now));
  }

  async addHits(hits: RateLimitHits[], now: number): Promise<number[]> {
    checkInt(now, "now");
    for (const h of hits) {
      checkInt(h.windowMs, "windowMs", 1);
      checkInt(h.add, "add", 1);
    }
    if (new Set(hits.map((h) => h.key)).size !== hits.length)
      throw new RangeError("addHits: repeated key");
    if (hits.length === 0) return [];
    return this.#db.use((c) => this.#soft.addHits(c, hits, now));
  }

  // allEntries, allMessages and resign go over every row (a change of relay key, at
  // start): the statement timeout does not apply to them.
  async allEntries(): Promise<StoredEntry[]> {
    const { rows } = await this.#db.tx(
      (c) => c.query<EntryRow>(long("SELECT * FROM directory ORDER BY log_index")),
      UNBOUNDED,
    );
    return rows.map(toEntry);
  }

  async allMessages(): Promise<StoredMessage[]> {
    const { rows } = await this.#db.tx(
      (c) => c.query<MessageRow>(long("SELECT * FROM messages ORDER BY log_index")),
      UNBOUNDED,
    );
    return rows.map(toMessage);
  }

  async resign(
    entries: { name: string; signature: Uint8Array }[],
    messages: { to: string; id: Uint8Array; receipt: Uint8Array }[],
  ): Promise<void> {
    await this.#db.tx((tx) => resignTx(tx, entries, messages), UNBOUNDED);
  }

  async subscribe(
    onDeposit: (n: DepositNotice) => void,
    onError: (e: unknown) => void,
  ): Promise<() => Promise<void>> {
    if (this.#closed) throw new StoreUnavailable("store is closed");
    const listener = await DepositListener.start({
      settings: this.#settings,
      origin: this.#origin,
      onDeposit,
      onError,
    }).catch((e: unknown) => {
      throw unavailable(e);
    });
    this.#listeners.add(listener);
    return async () => {
      if (this.#listeners.delete(listener)) await listener.stop();
    };
  }

  async health(): Promise<void> {
    await this.#db.use((c) => c.query("SELECT 1"));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    // Lets queries in flight finish for a moment, then cuts the connections.
    await Promise.all([...listeners.map((l) => l.stop()), this.#db.close()]);
  }
}
