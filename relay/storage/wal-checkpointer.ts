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
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

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
  /** Time between two checkpoints (default 100 ms). */
  everyMs?: number;
  /** Called once if the thread fails: the store goes back to SQLite's checkpoints. */
  onFailure: (reason: string) => void;
}

export class WalCheckpointer {
  readonly #worker: Worker;
  readonly #stopped: Promise<void>;
  #failed = false;
  /** Checkpoints the thread has run (tests). */
  runs = 0;

  constructor(path: string, options: CheckpointerOptions) {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(SOURCE, {
      eval: true,
      execArgv: [], // plain JavaScript: none of the loaders or flags of the parent
      workerData: { path, driver, everyMs: options.everyMs ?? 100 },
    });
    // Never the reason the process stays up; close() stops it.
    this.#worker.unref();
    const fail = (reason: string) => {
      if (this.#failed) return;
      this.#failed = true;
      options.onFailure(reason);
    };
    this.#worker.on("message", (m: { frames: number; copied: number } | { failed: string }) => {
      if ("failed" in m) return fail(m.failed);
      this.runs++;
    });
    this.#worker.on("error", (e) => fail(e.message));
    this.#stopped = new Promise((resolve) =>
      this.#worker.once("exit", () => {
        fail("the checkpoint thread stopped");
        resolve();
      }),
    );
  }

  /** Stops the thread after the checkpoint it is running, if any. */
  async close(): Promise<void> {
    this.#failed = true; // stopping is not a failure
    this.#worker.ref(); // an unref'd thread would not keep the process up until it has stopped
    this.#worker.postMessage("stop");
    await this.#stopped;
  }
}
