/**
 * Group commit for deposits (docs/protocol.md §13.4, rule 6): deposits that arrive
 * together are written in ONE atomic, durable transaction (`RelayStore.depositMany`), so
 * that a burst of deposits costs one fsync rather than one each, and each request still
 * gets its own answer (stored, duplicate, or quota) only once its batch is durable.
 *
 * Batching is natural, never a fixed wait: a deposit queued while fewer than
 * `maxInFlight` batches are on their way is flushed on the next turn of the event loop
 * (after the requests already read in this turn have queued theirs); otherwise it goes
 * in the next batch as soon as one of those is durable. Two in flight let one batch be
 * signed and written while the one before waits for the disk. A batch is bounded in
 * items and bytes. Batches in flight together are independent: each store serializes
 * the log appends and checks duplicates and quotas inside its own lock.
 * If its write fails, every deposit of the batch fails with the same error (a 503 for a
 * StoreUnavailable) and nothing of it is stored: the write is atomic.
 *
 * Deposits waiting for a batch hold at most `maxQueuedBytes` of envelopes: while the
 * store is slow, a flood of deposits is refused (503 UNAVAILABLE, retry later) rather
 * than queued without bound in memory.
 *
 * The receipts (§13.2) of the deposits a batch stores are signed together, with one
 * signature, inside its write (`RelayStore.depositMany` calls `sign` once it has decided
 * which deposits it stores): a refused deposit is never in a signed batch.
 */
import { RelayError } from "./errors.js";
import type { Deposit, DepositResult, RelayStore, SignReceipts } from "./storage/types.js";

export interface DepositBatcherOptions {
  /** Most deposits in one transaction (default 256). */
  maxItems?: number;
  /** Most envelope bytes in one transaction, unless one deposit alone is larger (default 8 MiB). */
  maxBytes?: number;
  /** Most batches being signed, written or synced at once (default 2). */
  maxInFlight?: number;
  /** Most envelope bytes waiting for a batch (default 64 MiB); one deposit always fits. */
  maxQueuedBytes?: number;
}

interface Pending {
  item: Deposit;
  resolve: (r: DepositResult) => void;
  reject: (e: unknown) => void;
}

export class DepositBatcher {
  readonly #store: RelayStore;
  readonly #sign: SignReceipts;
  readonly #maxPerMailbox: number;
  readonly #maxItems: number;
  readonly #maxBytes: number;
  #queue: Pending[] = [];
  readonly #maxInFlight: number;
  readonly #maxQueuedBytes: number;
  #queuedBytes = 0;
  #scheduled = false;
  #inFlight = 0;
  /** Batches written, and deposits in them (for tests and metrics). */
  batches = 0;
  deposits = 0;

  constructor(
    store: RelayStore,
    sign: SignReceipts,
    maxPerMailbox: number,
    options: DepositBatcherOptions = {},
  ) {
    this.#store = store;
    this.#sign = sign;
    this.#maxPerMailbox = maxPerMailbox;
    this.#maxItems = options.maxItems ?? 256;
    this.#maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
    this.#maxInFlight = options.maxInFlight ?? 2;
    this.#maxQueuedBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024;
    for (const [name, v] of Object.entries({
      maxItems: this.#maxItems,
      maxBytes: this.#maxBytes,
      maxInFlight: this.#maxInFlight,
      maxQueuedBytes: this.#maxQueuedBytes,
    }))
      if (!(Number.isSafeInteger(v) && v >= 1))
        throw new RangeError(`${name} must be a positive integer`);
  }

  /**
   * Resolves with this deposit's own result once its batch is durable; rejects with
   * UNAVAILABLE, storing nothing, while the deposits waiting fill `maxQueuedBytes`.
   */
  submit(item: Deposit): Promise<DepositResult> {
    const size = item.message.envelope.length;
    if (this.#queuedBytes > 0 && this.#queuedBytes + size > this.#maxQueuedBytes)
      return Promise.reject(
        new RelayError("UNAVAILABLE", "too many deposits are waiting to be written: retry later"),
      );
    this.#queuedBytes += size;
    return new Promise<DepositResult>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Flushes on the next turn, if a batch may start and none is due yet. */
  #schedule(): void {
    if (this.#scheduled || this.#inFlight >= this.#maxInFlight || this.#queue.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
        this.#inFlight++;
        void this.#write(this.#take()).finally(() => {
          this.#inFlight--;
          this.#schedule();
        });
      }
    });
  }

  /** Writes (signing its receipts) and syncs one batch, and answers each of its deposits. */
  async #write(batch: Pending[]): Promise<void> {
    try {
      const results = await this.#store.depositMany(
        batch.map((p) => p.item),
        this.#maxPerMailbox,
        this.#sign,
      );
      if (results.length !== batch.length) throw new Error("depositMany lost results");
      this.batches++;
      this.deposits += batch.length;
      for (const [i, p] of batch.entries()) p.resolve(results[i]!);
    } catch (e) {
      for (const p of batch) p.reject(e);
    }
  }

  /** The next batch: oldest first, within maxItems and maxBytes (at least one deposit). */
  #take(): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length && n < this.#maxItems) {
      bytes += this.#queue[n]!.item.message.envelope.length;
      if (n > 0 && bytes > this.#maxBytes) break;
      n++;
    }
    const batch = this.#queue.splice(0, n);
    for (const p of batch) this.#queuedBytes -= p.item.message.envelope.length;
    return batch;
  }
}
