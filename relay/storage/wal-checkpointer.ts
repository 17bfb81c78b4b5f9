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
 * `journal_size_limit` truncates it). If the thread cannot run, the store goes back to
 * SQLite's own checkpoints.
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
let timer;
function run() {
  try {
    const [r] = db.pragma("wal_checkpoint(PASSIVE)");
    parentPort.postMessage({ frames: r.log, copied: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ failed: String((e && e.code) || "checkpoint failed") });
    return;
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
}

/** How often, at most, `catchUp` looks at the WAL's size. */
const WAL_CHECK_MS = 5;
/** SQLite's own default, for when the thread cannot run. */
const AUTOCHECKPOINT_PAGES = 1000;

export class WalCheckpointer {
  readonly #db: Database.Database;
  readonly #worker: Worker;
  readonly #stopped: Promise<void>;
  readonly #walPath: string;
  readonly #maxWalBytes: number;
  /** When the WAL's size was last looked at (performance.now()). */
  #checkedAt = 0;
  #failed = false;
  /** Checkpoints the thread has run (tests). */
  runs = 0;

  /** Takes checkpoints of `db` (a file in WAL mode) off its connection, from now on. */
  constructor(db: Database.Database, options: CheckpointerOptions) {
    this.#db = db;
    const path = realpathSync(db.name);
    this.#walPath = `${path}-wal`;
    this.#maxWalBytes = options.maxWalBytes;
    db.pragma("wal_autocheckpoint = 0");
    // Once the WAL has started over, its file is cut back to this size.
    db.pragma(`journal_size_limit = ${options.maxWalBytes}`);
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(SOURCE, {
      eval: true,
      execArgv: [], // plain JavaScript: none of the loaders or flags of the parent
      workerData: { path, driver, everyMs: options.everyMs },
    });
    // Never the reason the process stays up; close() stops it.
    this.#worker.unref();
    const fail = () => {
      if (this.#failed) return;
      this.#failed = true;
      // Back to SQLite's checkpoints inside commits: slower, never unbounded.
      if (db.open) db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    };
    this.#worker.on("message", (m: { frames: number; copied: number } | { failed: string }) => {
      if ("failed" in m) return fail();
      this.runs++;
    });
    this.#worker.on("error", fail);
    this.#stopped = new Promise((resolve) =>
      this.#worker.once("exit", () => {
        fail();
        resolve();
      }),
    );
  }

  /** False once the thread has failed or stopped (SQLite checkpoints inside commits again). */
  get running(): boolean {
    return !this.#failed;
  }

  /**
   * After a call on the store's connection: past `maxWalBytes`, checkpoints what the
   * thread has not copied yet, so that the WAL starts over at the next write. Looks at
   * most every few ms. A failure here fails nothing: what was committed stays committed,
   * and SQLite reports the same failure to the next write.
   */
  catchUp(): void {
    if (this.#failed) return;
    const now = performance.now();
    if (now - this.#checkedAt < WAL_CHECK_MS) return;
    this.#checkedAt = now;
    try {
      const size = statSync(this.#walPath, { throwIfNoEntry: false })?.size ?? 0;
      if (size <= this.#maxWalBytes) return;
      this.#db.pragma("wal_checkpoint(PASSIVE)");
    } catch {
      // Nothing is lost: the thread or the next call checkpoints again.
    }
  }

  /** Stops the thread after the checkpoint it is running, if any. */
  async close(): Promise<void> {
    this.#failed = true; // stopping is not a failure, and the store is closing
    this.#worker.ref(); // an unref'd thread would not keep the process up until it has stopped
    this.#worker.postMessage("stop");
    await this.#stopped;
  }
}
