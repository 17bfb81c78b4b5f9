/**
 * Durability for the SQLite store without blocking the event loop (docs/protocol.md
 * §13.4 rule 6). With `synchronous = FULL`, SQLite calls fsync on the write-ahead log
 * inside every commit, and better-sqlite3 runs that on the event loop: on a disk where an
 * fsync takes milliseconds, no request is read meanwhile. Instead the connection runs
 * with `synchronous = NORMAL` (commits are written to the WAL file but not synced; SQLite
 * still syncs the WAL before each checkpoint and the database after it) and every
 * durable write awaits `sync()`: an fdatasync of the WAL file on libuv's thread pool. The
 * write is answered only after it, exactly as with FULL, and one fdatasync covers every
 * commit made before it started, so a burst of writes shares one.
 *
 * fdatasync acts on the file, not on the descriptor, so syncing our own read-only handle
 * flushes what SQLite's connection wrote. SQLite keeps the WAL file while the database is
 * open; it may truncate it, never replace it.
 *
 * A failed fdatasync is fatal, as in PostgreSQL: the kernel may already have dropped the
 * unwritten pages, and a later fdatasync could succeed without them. Every waiting and
 * every later write then fails with StoreUnavailable until the relay is restarted (SQLite
 * recovers from what reached the disk).
 */
import { type FileHandle, open } from "node:fs/promises";
import { dirname } from "node:path";
import { StoreUnavailable } from "./errors.js";

export type Datasync = () => Promise<void>;

/**
 * fdatasync of `walPath`, opened on first use (after its directory entry is synced);
 * `close` closes the handle (when the store closes).
 */
export function walDatasync(walPath: string): Datasync & { close: () => Promise<void> } {
  let handle: Promise<FileHandle> | undefined;
  const sync = async () => {
    handle ??= (async () => {
      const dir = await open(dirname(walPath), "r");
      try {
        await dir.sync(); // the WAL file's name survives a power loss too
      } finally {
        await dir.close();
      }
      return open(walPath, "r");
    })();
    const h = await handle.catch((e) => {
      handle = undefined;
      throw e;
    });
    await h.datasync();
  };
  return Object.assign(sync, {
    close: async () => {
      const h = handle;
      handle = undefined;
      await (await h?.catch(() => undefined))?.close();
    },
  });
}

export class WalSync {
  readonly #datasync: Datasync;
  /** The flush running now, if any. */
  #running: Promise<void> | undefined;
  /** The flush that starts when the running one ends: it covers commits made meanwhile. */
  #queued: Promise<void> | undefined;
  #failed: StoreUnavailable | undefined;
  /** fdatasync calls made (tests, metrics). */
  flushes = 0;

  constructor(datasync: Datasync) {
    this.#datasync = datasync;
  }

  /**
   * Fails the store for good, as a failed fdatasync does: for a failure elsewhere that may
   * have lost committed data (a checkpoint's I/O error, wal-checkpointer.ts).
   */
  fail(message: string, cause: unknown): void {
    this.#failed ??= new StoreUnavailable(message, { cause });
  }

  /** Throws once a sync has failed: nothing written since can be promised durable. */
  check(): void {
    if (this.#failed) throw this.#failed;
  }

  /** Resolves once everything committed before this call is on the disk. */
  sync(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    // A flush already running may have started before this commit: wait for the next.
    if (!this.#running) {
      this.#running = this.#flush();
      return this.#running;
    }
    this.#queued ??= this.#running.then(
      () => this.#next(),
      () => this.#next(),
    );
    return this.#queued;
  }

  #next(): Promise<void> {
    this.#queued = undefined;
    if (this.#failed) return Promise.reject(this.#failed);
    this.#running = this.#flush();
    return this.#running;
  }

  async #flush(): Promise<void> {
    try {
      this.flushes++;
      await this.#datasync();
    } catch (e) {
      this.#failed ??= new StoreUnavailable("storage failed to sync to disk: restart the relay", {
        cause: e,
      });
      throw this.#failed;
    } finally {
      this.#running = undefined;
    }
  }
}
