/**
 * The PostgreSQL store's connection pool (node-postgres `pg.Pool`): how every query and
 * transaction of postgres.ts gets a connection, gives it back, and fails when the
 * database cannot serve.
 *
 * - A transaction is `BEGIN … COMMIT` on one checked-out connection. On any failure it
 *   is rolled back before the connection goes back to the pool; a connection that broke,
 *   or that could not roll back, is closed instead (`release(true)`), so no query ever
 *   runs inside a transaction it does not belong to.
 * - A connection that breaks while idle in the pool, or while checked out between two
 *   queries, emits 'error': both are listened to, so a lost or restarted server never
 *   crashes the process. The pool drops such connections and opens new ones on demand,
 *   so once the database is back the store serves again by itself.
 * - After a failure to connect, calls fail at once (StoreUnavailable, a 503) for a
 *   backoff (RETRY_MIN_MS doubling up to RETRY_MAX_MS, with jitter), then one call at a
 *   time tries the database again until one gets an answer: an outage costs 503s within
 *   about a second and a trickle of connection attempts, not a storm.
 * - Calls wait for a free connection here, not in pg.Pool's queue (whose waiters would
 *   each try to connect in turn after a failure): at most `poolSize` calls hold or open a
 *   connection, and when one fails to connect the waiting calls fail with it at once.
 */
import pg from "pg";
import { StoreUnavailable } from "./errors.js";
import type { ConnectionSettings } from "./postgres-connect.js";
import { isConnectionFailure, isRetryable, unavailable } from "./postgres-errors.js";

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 1000;
/** A transaction that lost a deadlock or serialization race is run again this many times. */
const ATTEMPTS = 3;
/** How long close() lets the queries in flight finish. */
const CLOSE_TIMEOUT_MS = 5000;

/** A connection checked out of the pool, inside a transaction or not. */
export type Conn = pg.PoolClient;

interface Waiter {
  admit: () => void;
  refuse: (e: StoreUnavailable) => void;
}

export class PostgresPool {
  readonly #pool: pg.Pool;
  readonly #size: number;
  readonly #waitMs: number;
  /** Calls holding (or opening) a connection: at most #size. */
  #active = 0;
  readonly #waiting: Waiter[] = [];
  /** Connections that broke while checked out: closed, not reused, when released. */
  readonly #broken = new WeakSet<pg.ClientBase>();
  #failures = 0;
  #notBefore = 0;
  /** A call is trying the database after a failure: the others fail at once meanwhile. */
  #probing = false;
  #closed = false;

  constructor(s: ConnectionSettings) {
    this.#size = s.poolSize;
    this.#waitMs = s.connectTimeoutMs;
    this.#pool = new pg.Pool({
      ...s.client,
      max: s.poolSize,
      idleTimeoutMillis: 300_000,
    });
    // An idle connection that broke: the pool has already dropped it, and the next call
    // that needs the database finds out whether it is down. Nothing to do but listen.
    this.#pool.on("error", () => undefined);
    // A connection that breaks while checked out and between queries emits 'error' with
    // no pool listener attached: mark it, so that it is closed when released.
    this.#pool.on("connect", (c) => {
      c.on("error", () => this.#broken.add(c));
    });
  }

  /** Ms until the next connection attempt is allowed; 0 when the database last answered. */
  #retryIn(): number {
    return Math.max(0, Math.ceil(this.#notBefore - Date.now()));
  }

  #admit(): void {
    if (this.#closed) throw new StoreUnavailable("store is closed");
    const wait = this.#retryIn();
    if (wait > 0)
      throw new StoreUnavailable(
        `storage unavailable: database unreachable, retrying in ${wait} ms`,
      );
    if (this.#probing)
      throw new StoreUnavailable("storage unavailable: database unreachable, reconnecting");
  }

  #failed(): void {
    // The calls waiting for a connection would only try again what just failed.
    const e = new StoreUnavailable("storage unavailable: database unreachable");
    for (const w of this.#waiting.splice(0)) w.refuse(e);
    this.#failures = Math.min(this.#failures + 1, 16);
    const backoff = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.#failures - 1));
    // Jitter, so that processes cut off together do not come back in step.
    this.#notBefore = Date.now() + backoff * (0.5 + Math.random() / 2);
  }

  #answered(): void {
    this.#failures = 0;
    this.#notBefore = 0;
  }

  /** Waits for one of the #size places (at most connectTimeoutMs). */
  async #enter(): Promise<void> {
    if (this.#active < this.#size) {
      this.#active++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        admit: () => {
          clearTimeout(timer);
          resolve();
        },
        refuse: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      const timer = setTimeout(() => {
        this.#waiting.splice(this.#waiting.indexOf(w), 1);
        reject(new StoreUnavailable("storage unavailable: every database connection is busy"));
      }, this.#waitMs);
      this.#waiting.push(w);
    });
  }

  /** Hands this call's place to the next waiting call, if any. */
  #leave(): void {
    const next = this.#waiting.shift();
    if (next) next.admit();
    else this.#active--;
  }

  /**
   * Runs `fn` on a connection of the pool (one query, or a few outside a transaction);
   * database failures become StoreUnavailable.
   */
  async use<T>(fn: (c: Conn) => Promise<T>): Promise<T> {
    this.#admit();
    await this.#enter();
    try {
      return await this.#run(fn);
    } finally {
      this.#leave();
    }
  }

  async #run<T>(fn: (c: Conn) => Promise<T>): Promise<T> {
    // Checked again: the database may have failed while this call waited for its place.
    this.#admit();
    const probe = this.#failures > 0;
    if (probe) this.#probing = true;
    try {
      let c: Conn;
      try {
        c = await this.#pool.connect();
      } catch (e) {
        if (this.#closed) throw new StoreUnavailable("store is closed", { cause: e });
        this.#failed();
        const u = unavailable(e);
        throw u instanceof StoreUnavailable
          ? u
          : new StoreUnavailable("storage unavailable: cannot connect", { cause: e });
      }
      this.#answered();
      try {
        return await fn(c);
      } catch (e) {
        // A connection lost mid-call is closed; the next call that needs a new one finds
        // out whether the database is down, and only a failure to connect backs off.
        if (isConnectionFailure(e)) this.#broken.add(c);
        throw unavailable(e);
      } finally {
        c.release(this.#broken.has(c));
      }
    } finally {
      if (probe) this.#probing = false;
    }
  }

  /**
   * Runs `fn` in one transaction (READ COMMITTED), again if it lost a deadlock or a
   * serialization race. It commits only if `fn` resolves; otherwise it is rolled back.
   * `unbounded`: the statement timeout does not apply (for statements sent as `long`).
   */
  async tx<T>(fn: (tx: Conn) => Promise<T>, o: { unbounded?: boolean } = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.use(async (c) => {
          await c.query("BEGIN");
          try {
            if (o.unbounded) await c.query("SET LOCAL statement_timeout = 0");
            const result = await fn(c);
            await c.query("COMMIT");
            return result;
          } catch (e) {
            // Never back to the pool inside a transaction: if it cannot be rolled back
            // (the connection broke, or COMMIT's outcome is unknown), it is closed.
            if (isConnectionFailure(e)) this.#broken.add(c);
            else await c.query("ROLLBACK").catch(() => this.#broken.add(c));
            throw e;
          }
        });
      } catch (e) {
        const cause = e instanceof StoreUnavailable ? e.cause : e;
        if (attempt < ATTEMPTS && isRetryable(cause)) continue;
        throw e;
      }
    }
  }

  /** Lets the queries in flight finish (for a while), then closes every connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const e = new StoreUnavailable("store is closed");
    for (const w of this.#waiting.splice(0)) w.refuse(e);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      timer.unref();
    });
    await Promise.race([this.#pool.end().catch(() => undefined), timeout]);
    clearTimeout(timer);
  }
}
