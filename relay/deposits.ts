/**
 * Group commit for deposits (docs/protocol.md §13.4, rule 6): deposits that arrive
 * together are written in ONE atomic, durable transaction (`RelayStore.depositMany`), so
 * that a burst of deposits costs one fsync rather than one each, and each request still
 * gets its own answer (stored, duplicate, or quota) only once its batch is durable.
 *
 * Batching is natural, never a fixed wait: a deposit queued while no batch is being
 * written is flushed on the next turn of the event loop (after the requests already read
 * in this turn have queued theirs); deposits queued while a batch is being written go
 * in the next batch as soon as that one commits. A batch is bounded in items and bytes.
 * If its write fails, every deposit of the batch fails with the same error (a 503 for a
 * StoreUnavailable) and nothing of it is stored: the write is atomic.
 */
import type { Deposit, DepositResult, RelayStore } from "./storage/types.js";

export interface DepositBatcherOptions {
  /** Most deposits in one transaction (default 256). */
  maxItems?: number;
  /** Most envelope bytes in one transaction, unless one deposit alone is larger (default 8 MiB). */
  maxBytes?: number;
}

interface Pending {
  item: Deposit;
  resolve: (r: DepositResult) => void;
  reject: (e: unknown) => void;
}

export class DepositBatcher {
  readonly #store: RelayStore;
  readonly #maxPerMailbox: number;
  readonly #maxItems: number;
  readonly #maxBytes: number;
  #queue: Pending[] = [];
  #scheduled = false;
  #writing = false;
  /** Batches written, and deposits in them (for tests and metrics). */
  batches = 0;
  deposits = 0;

  constructor(store: RelayStore, maxPerMailbox: number, options: DepositBatcherOptions = {}) {
    this.#store = store;
    this.#maxPerMailbox = maxPerMailbox;
    this.#maxItems = options.maxItems ?? 256;
    this.#maxBytes = options.maxBytes ?? 8 * 1024 * 1024;
    if (!(Number.isSafeInteger(this.#maxItems) && this.#maxItems >= 1))
      throw new RangeError("maxItems must be a positive integer");
    if (!(Number.isSafeInteger(this.#maxBytes) && this.#maxBytes >= 1))
      throw new RangeError("maxBytes must be a positive integer");
  }

  /** Resolves with this deposit's own result once its batch is durable. */
  submit(item: Deposit): Promise<DepositResult> {
    return new Promise<DepositResult>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#scheduled || this.#writing) return;
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        void this.#drain();
      });
    });
  }

  /** Writes batches until the queue is empty; one at a time. */
  async #drain(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#take();
        try {
          const results = await this.#store.depositMany(
            batch.map((p) => p.item),
            this.#maxPerMailbox,
          );
          if (results.length !== batch.length) throw new Error("depositMany lost results");
          this.batches++;
          this.deposits += batch.length;
          for (const [i, p] of batch.entries()) p.resolve(results[i]!);
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.#writing = false;
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
    return this.#queue.splice(0, n);
  }
}
