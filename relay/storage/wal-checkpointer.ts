/**
 * Checkpoints of the SQLite store's write-ahead log, on a thread of their own. By default
 * SQLite checkpoints inside the commit that grows the WAL past 1000 pages: it copies them
 * into the database and syncs the WAL and the database file, which blocks the event loop
 * for milliseconds every few hundred deposits. Instead the store's connection runs with
 * `wal_autocheckpoint = 0` and a second connection, on a worker thread, runs a PASSIVE
 * checkpoint every `everyMs`: it copies what is committed without ever blocking or
 * waiting for the store's writes (https://sqlite.org/c3ref/wal_checkpoint_v2.html).
 *
 * SQLite starts the WAL over (at the next write) only once a checkpoint has copied all of
 * it. Under a steady stream of writes the thread is always a little behind, so the store
 * looks at the WAL file's size and, past its limit, checkpoints on its own connection:
 * only the few frames the thread has not copied, and then the WAL starts over (and
 * `journal_size_limit` truncates it). If the thread cannot run, or fails ten times in a
 * row (busy, a full disk), the store goes back to SQLite's own checkpoints. A checkpoint's
 * I/O error or corruption is fatal to the store, as a failed fdatasync is (wal-sync.ts):
 * after a failed fsync of the database, a later checkpoint could succeed and the WAL
 * start over without pages that never reached the disk.
 *
 * The worker is plain JavaScript run from a string, so that it loads the same way from
 * the TypeScript sources and from the build.
 */
import { realpathSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";

const SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
// As the store's connection; a checkpoint syncs the WAL before it copies and the database
// after, at NORMAL as at FULL.
db.pragma("synchronous = NORMAL");
let timer;
function run() {
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({});
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.code) || "SQLITE_ERROR") });
  }
  timer = setTimeout(run, workerData.everyMs);
}
parentPort.on("message", (m) => {
  if (m !== "stop") return;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
run();
`;
export interface CheckpointerOptions {
  /** Time between two checkpoints of the thread. */
  everyMs: number;
  /** WAL size past which `catchUp` checkpoints on the store's connection. */
  maxWalBytes: number;
  /**
   * Called once for a checkpoint's I/O error or corruption: a failed fsync may have lost
   * pages the WAL would otherwise start over without, so the store must stop (WalSync.fail).
   */
  onFatal: (cause: Error) => void;
}

/** Errors after which nothing committed can be trusted to be on the disk. */
const FATAL = /^SQLITE_(IOERR|CORRUPT)/;
/** Failed checkpoints in a row after which the thread is given up (it was not fatal). */
const MAX_FAILURES = 10;
/** How long `close` waits for a checkpoint in progress before it terminates the thread. */
const CLOSE_TIMEOUT_MS = 5000;

/** How often, at most, `catchUp` looks at the WAL's size. */
const WAL_CHECK_MS = 5;
/**
 * If the WAL has not started over after several catch-ups (another process writing, a
 * reader), `catchUp` waits twice as long each time, up to this: it would otherwise sync
 * every few ms.
 */
const MAX_BACKOFF_MS = 1000;
const STUCK_BEFORE_BACKOFF = 4;
/** SQLite's own default, for when the thread cannot run. */
const AUTOCHECKPOINT_PAGES = 1000;

export class WalCheckpointer {
  readonly #db: Database.Database;
  readonly #worker: Worker;
  readonly #stopped: Promise<void>;
  readonly #walPath: string;
  readonly #maxWalBytes: number;
  readonly #onFatal: (cause: Error) => void;
  /** When `catchUp` may next look at the WAL's size (performance.now()). */
  #nextCheck = 0;
  /** Catch-ups in a row after which the WAL was still past the limit. */
  #stuck = 0;
  #failed = false;
  /** Checkpoints the thread has run (tests). */
  runs = 0;

  /** Takes checkpoints of `db` (a file in WAL mode) off its connection, from now on. */
  constructor(db: Database.Database, options: CheckpointerOptions) {
    const { everyMs, maxWalBytes, onFatal } = options;
    if (!Number.isSafeInteger(everyMs) || everyMs < 1)
      throw new RangeError("everyMs must be at least 1");
    if (!Number.isSafeInteger(maxWalBytes) || maxWalBytes < 1)
      throw new RangeError("maxWalBytes must be at least 1");
    this.#db = db;
    const path = realpathSync(db.name);
    this.#walPath = `${path}-wal`;
    this.#maxWalBytes = maxWalBytes;
    this.#onFatal = onFatal;
    db.pragma("wal_autocheckpoint = 0");
    // Once the WAL has started over, its file is cut back to this size.
    db.pragma(`journal_size_limit = ${maxWalBytes}`);
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(SOURCE, {
      eval: true,
      execArgv: [], // plain JavaScript: none of the loaders or flags of the parent
      workerData: { path, driver, everyMs },
    });
    // Never the reason the process stays up; close() stops it.
    this.#worker.unref();
    let failures = 0;
    this.#worker.on("message", (m: { error?: string }) => {
      if (m.error === undefined) {
        failures = 0;
        this.runs++;
        return;
      }
      if (FATAL.test(m.error)) return this.#fatal(new Error(`WAL checkpoint failed: ${m.error}`));
      // Busy, locked, full disk: the next checkpoint tries again, up to a point.
      if (++failures >= MAX_FAILURES) {
        this.#giveUp();
        this.#worker.postMessage("stop");
      }
    });
    this.#worker.on("error", () => this.#giveUp());
    this.#stopped = new Promise((resolve) =>
      this.#worker.once("exit", () => {
        this.#giveUp();
        resolve();
      }),
    );
  }

  /** Back to SQLite's checkpoints inside commits: slower, never unbounded. */
  #giveUp(): void {
    if (this.#failed) return;
    this.#failed = true;
    if (this.#db.open) this.#db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
  }

  #fatal(cause: Error): void {
    this.#giveUp();
    this.#worker.postMessage("stop");
    this.#onFatal(cause);
  }

  /** False once the thread has failed or stopped (SQLite checkpoints inside commits again). */
  get running(): boolean {
    return !this.#failed;
  }

  /**
   * After a call on the store's connection: past `maxWalBytes`, checkpoints what the
   * thread has not copied yet, so that the WAL starts over at the next write. Looks at
   * most every few ms, and less often while the WAL does not start over. An I/O error is
   * fatal (as in the thread); any other failure loses nothing.
   */
  catchUp(): void {
    if (this.#failed) return;
    const now = performance.now();
    if (now < this.#nextCheck) return;
    try {
      const size = statSync(this.#walPath, { throwIfNoEntry: false })?.size ?? 0;
      if (size <= this.#maxWalBytes) {
        this.#stuck = 0;
        this.#nextCheck = now + WAL_CHECK_MS;
        return;
      }
      // Past the limit again: after a few catch-ups in a row the WAL is not starting over
      // (another process writing, a reader), and each further one waits twice as long.
      const wait = WAL_CHECK_MS * 2 ** Math.max(0, this.#stuck - STUCK_BEFORE_BACKOFF);
      this.#nextCheck = now + Math.min(wait, MAX_BACKOFF_MS);
      this.#db.pragma("wal_checkpoint(PASSIVE)");
      this.#stuck++;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (typeof code === "string" && FATAL.test(code))
        this.#fatal(new Error(`WAL checkpoint failed: ${code}`, { cause: e }));
      // Anything else loses nothing (busy: the thread is checkpointing right now), and the
      // next look comes soon.
      this.#nextCheck = now + WAL_CHECK_MS;
    }
  }

  /** Stops the thread after the checkpoint it is running, if any (or after a timeout). */
  async close(): Promise<void> {
    this.#failed = true; // stopping is not a failure, and the store is closing
    this.#worker.ref(); // an unref'd thread would not keep the process up until it has stopped
    this.#worker.postMessage("stop");
    const timeout = setTimeout(() => void this.#worker.terminate(), CLOSE_TIMEOUT_MS);
    await this.#stopped;
    clearTimeout(timeout);
  }
}
