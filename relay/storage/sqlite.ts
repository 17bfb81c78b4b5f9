/**
 * The embedded relay store (DESIGN §4): one SQLite file in the data folder, in WAL mode,
 * through better-sqlite3 12. Every write is one IMMEDIATE transaction, so it takes the
 * write lock before reading and stays correct when several processes share the file,
 * and it is durable before its promise resolves: the connection runs with
 * `synchronous = NORMAL` and a write waits for an fdatasync of the WAL file off the event
 * loop, shared by every write made meanwhile (wal-sync.ts). Soft state (nonces,
 * rate-limit windows) does not wait for the disk (docs/protocol.md §13.7).
 *
 * better-sqlite3 is synchronous: a write that waits for another process's lock blocks
 * the event loop for up to `busyTimeoutMs`. Every SQLite failure is a `StoreUnavailable`.
 */
import { realpathSync } from "node:fs";
import Database from "better-sqlite3";
import { equal } from "../../protocol/bytes.js";
import { StoreUnavailable } from "./errors.js";
import { fetchedMessage, toCheckpoint, toEntry, toMessage } from "./rows.js";
import { migrate } from "./sqlite-migrations.js";
import { prepareStatements, type Statements } from "./sqlite-statements.js";
import { appendLeaves, depositBatch, readNode } from "./sqlite-writes.js";
import type {
  Deposit,
  DepositResult,
  PutEntryResult,
  RateLimitHits,
  RelayStore,
  SignReceipts,
  StoredCheckpoint,
  StoredEntry,
  StoredMessage,
} from "./types.js";
import { type CheckpointerOptions, WalCheckpointer } from "./wal-checkpointer.js";
import { type Datasync, WalSync, walDatasync } from "./wal-sync.js";

export interface SqliteOptions {
  /** How long a write waits for another connection's lock before failing (default 5000). */
  busyTimeoutMs?: number;
  /** Caps the database size (PRAGMA max_page_count): a write beyond it is StoreUnavailable. */
  maxBytes?: number;
  /** Makes the WAL durable (default: fdatasync of `<path>-wal`); for tests of a failing disk. */
  datasync?: Datasync;
  /**
   * WAL checkpoints on a thread of their own, every this many ms (wal-checkpointer.ts;
   * default 100); 0 leaves them to SQLite, inside commits. Files only.
   */
  checkpointEveryMs?: number;
  /** WAL size past which the store checkpoints on its own connection (default 32 MiB). */
  maxWalBytes?: number;
}

/** Expired nonces and rate-limit windows are pruned every this many calls, in bounded batches. */
const PRUNE_EVERY = 64;
const PRUNE_BATCH = 1000;

function checkInt(value: number, name: string, min = 0): void {
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be a safe integer`);
  if (value < min) throw new RangeError(`${name} must be at least ${min}`);
}

/** SQLite failures become StoreUnavailable (a 503); anything else is a bug and passes through. */
function unavailable(e: unknown): unknown {
  if (e instanceof Database.SqliteError)
    return new StoreUnavailable(`storage unavailable: ${e.code}`, { cause: e });
  return e;
}

export class SqliteStore implements RelayStore {
  readonly #db: Database.Database;
  readonly #q: Statements;
  readonly #wal: WalSync;
  #calls = 0;

  readonly #datasync: Datasync & { close?: () => Promise<void> };
  /** Undefined for ":memory:" and when turned off. */
  readonly #checkpoints: WalCheckpointer | undefined;

  private constructor(
    db: Database.Database,
    datasync: Datasync & { close?: () => Promise<void> },
    checkpoints: Omit<CheckpointerOptions, "onFatal"> | undefined,
  ) {
    this.#db = db;
    this.#q = prepareStatements(db);
    this.#datasync = datasync;
    this.#wal = new WalSync(datasync);
    this.#checkpoints =
      checkpoints &&
      new WalCheckpointer(db, {
        ...checkpoints,
        onFatal: (cause) =>
          this.#wal.fail("storage failed to checkpoint: restart the relay", cause),
      });
  }

  /** Checkpoints made by the checkpoint thread (tests). */
  get threadCheckpoints(): number {
    return this.#checkpoints?.runs ?? 0;
  }

  /** Opens (creating and migrating if needed) the database at `path`; ":memory:" for tests. */
  static open(path: string, options: SqliteOptions = {}): SqliteStore {
    const { busyTimeoutMs = 5000, maxBytes } = options;
    checkInt(busyTimeoutMs, "busyTimeoutMs");
    if (maxBytes !== undefined) checkInt(maxBytes, "maxBytes", 1);
    let db: Database.Database | undefined;
    try {
      db = new Database(path);
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      if (maxBytes !== undefined) {
        const pageSize = db.pragma("page_size", { simple: true }) as number;
        db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxBytes / pageSize))}`);
      }
      migrate(db); // under FULL: a migration is durable before the relay serves
      // From here on, durable writes wait for WalSync instead (see the header). SQLite
      // names the WAL after the database's resolved path.
      db.pragma("synchronous = NORMAL");
      const datasync =
        options.datasync ??
        (db.memory ? async () => undefined : walDatasync(`${realpathSync(db.name)}-wal`));
      const checkpointEveryMs = db.memory ? 0 : (options.checkpointEveryMs ?? 100);
      const { maxWalBytes = 32 * 1024 * 1024 } = options;
      checkInt(checkpointEveryMs, "checkpointEveryMs");
      checkInt(maxWalBytes, "maxWalBytes", 1);
      const checkpoints =
        checkpointEveryMs > 0 ? { everyMs: checkpointEveryMs, maxWalBytes } : undefined;
      return new SqliteStore(db, datasync, checkpoints);
    } catch (e) {
      db?.close();
      throw unavailable(e);
    }
  }

  /**
   * Runs `fn` on the open database, turning SQLite failures into StoreUnavailable. A write
   * made here alone (soft state: nonces, rate-limit windows, expiry) does not wait for the
   * disk: it survives a crash of the relay but not of the machine, and the next durable
   * write syncs it anyway. An fsync for each would cost more than a deposit (§13.7).
   */
  #run<T>(fn: (q: Statements) => T): T {
    if (!this.#db.open) throw new StoreUnavailable("store is closed");
    this.#wal.check();
    let result: T;
    try {
      result = fn(this.#q);
    } catch (e) {
      throw unavailable(e);
    }
    this.#checkpoints?.catchUp();
    return result;
  }

  /**
   * Runs `fn` in a BEGIN IMMEDIATE transaction (the write lock is taken before anything
   * is read, so no other connection can append to the log in between), and resolves once
   * the commit is on the disk.
   */
  async #write<T>(fn: (q: Statements) => T): Promise<T> {
    const result = this.#run((q) => this.#db.transaction(fn).immediate(q));
    await this.#wal.sync();
    return result;
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
    const { receipt, ...message } = m;
    const [r] = await this.depositMany([{ message, leaf }], maxPerMailbox, () => [receipt]);
    return r!;
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
    // One transaction, one fsync (sqlite-writes.ts).
    return this.#write((q) => depositBatch(q, items, maxPerMailbox, sign));
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
    return this.#run((q) => {
      const out: StoredMessage[] = [];
      let bytes = 0;
      // Row by row: the rows past the byte limit are never read.
      for (const r of q.fetch.iterate({ mailbox: to, now, limit })) {
        bytes += r[1].length;
        if (out.length > 0 && bytes > maxBytes) break;
        out.push(fetchedMessage(to, r));
      }
      return out;
    });
  }

  async ack(to: string, ids: Uint8Array[]): Promise<number> {
    return this.#write((q) => {
      let n = 0;
      for (const id of ids) n += q.deleteMessage.run({ mailbox: to, id }).changes;
      return n;
    });
  }

  async expire(now: number): Promise<number> {
    checkInt(now, "now");
    return this.#run((q) => q.expire.run({ now }).changes);
  }

  async putEntry(e: Omit<StoredEntry, "index">, leaf: Uint8Array): Promise<PutEntryResult> {
    checkInt(e.created, "created");
    checkInt(e.at, "at");
    return this.#write((q): PutEntryResult => {
      const row = q.entry.get({ name: e.name });
      if (row) {
        const current = toEntry(row);
        // DESIGN §4: a name belongs to its first identity; a rotation must be newer.
        if (!equal(current.identityKey, e.identityKey) || e.created <= current.created)
          return { status: "conflict", current };
      }
      const entry: StoredEntry = {
        name: e.name,
        bundle: e.bundle,
        identityKey: e.identityKey,
        created: e.created,
        at: e.at,
        signature: e.signature,
        index: appendLeaves(q, [leaf]),
      };
      q.upsertEntry.run({ ...entry });
      return { status: "stored", entry };
    });
  }

  async getEntry(name: string): Promise<StoredEntry | undefined> {
    return this.#run((q) => {
      const row = q.entry.get({ name });
      return row && toEntry(row);
    });
  }

  async logSize(): Promise<number> {
    return this.#run((q) => q.logSize.get()!.size);
  }

  async node(level: number, index: number): Promise<Uint8Array> {
    checkInt(level, "level");
    checkInt(index, "index");
    return this.#run((q) => readNode(q, level, index));
  }

  async nodes(keys: { level: number; index: number }[]): Promise<Uint8Array[]> {
    for (const k of keys) {
      checkInt(k.level, "level");
      checkInt(k.index, "index");
    }
    // better-sqlite3 is synchronous: a prepared lookup per node costs microseconds.
    return this.#run((q) => keys.map((k) => readNode(q, k.level, k.index)));
  }

  async latestCheckpoint(): Promise<StoredCheckpoint | undefined> {
    const cp = this.#run((q) => {
      const row = q.latestCheckpoint.get();
      return row && toCheckpoint(row);
    });
    // A checkpoint is handed out to clients, who pin it: it must not be one that a power
    // loss could take back (another request's, or another process's, commit not yet
    // synced). The sync is shared, so this costs little.
    if (cp) await this.#wal.sync();
    return cp;
  }

  async putCheckpoint(c: StoredCheckpoint): Promise<void> {
    checkInt(c.size, "size");
    checkInt(c.at, "at");
    await this.#write((q) => {
      q.putCheckpoint.run({ size: c.size, root: c.root, at: c.at, signature: c.signature });
      q.pruneCheckpoints.run({ size: c.size });
    });
  }

  async useNonce(key: string, expires: number, now: number): Promise<boolean> {
    checkInt(expires, "expires");
    checkInt(now, "now");
    return this.#run((q) => {
      if (this.#pruneDue()) q.pruneNonces.run({ now, batch: PRUNE_BATCH });
      // Inserts, or replaces an expired record; no change means a live record: a replay.
      return q.useNonce.run({ key, expires, now }).changes === 1;
    });
  }

  async addHits(hits: RateLimitHits[], now: number): Promise<number[]> {
    checkInt(now, "now");
    for (const h of hits) {
      checkInt(h.windowMs, "windowMs", 1);
      checkInt(h.add, "add", 1);
    }
    if (new Set(hits.map((h) => h.key)).size !== hits.length)
      throw new RangeError("addHits: repeated key");
    // One transaction, one WAL commit, not waiting for the disk (soft state).
    return this.#run((q) =>
      this.#db.transaction(() => {
        if (this.#pruneDue()) q.pruneRateLimits.run({ now, batch: PRUNE_BATCH });
        return hits.map(({ key, windowMs, add }) => {
          const window = Math.floor(now / windowMs);
          return q.hit.get({ key, window, add, expires: (window + 1) * windowMs })!.count;
        });
      })(),
    );
  }

  async allEntries(): Promise<StoredEntry[]> {
    return this.#run((q) => q.allEntries.all().map(toEntry));
  }

  async allMessages(): Promise<StoredMessage[]> {
    return this.#run((q) => q.allMessages.all().map(toMessage));
  }

  async resign(
    entries: { name: string; signature: Uint8Array }[],
    messages: { to: string; id: Uint8Array; receipt: Uint8Array }[],
  ): Promise<void> {
    await this.#write((q) => {
      for (const e of entries) q.setEntrySignature.run({ name: e.name, signature: e.signature });
      for (const m of messages) q.setReceipt.run({ to: m.to, id: m.id, receipt: m.receipt });
      q.deleteCheckpoints.run();
    });
  }

  async health(): Promise<void> {
    this.#run((q) => q.health.get());
  }

  async close(): Promise<void> {
    await this.#checkpoints?.close();
    if (this.#db.open) this.#db.close();
    await this.#datasync.close?.();
  }
}
