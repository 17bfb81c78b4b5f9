/**
 * The extension's storage adapter (docs/protocol.md §8.1): one IndexedDB database with one
 * object store of opaque byte values keyed by string. The keystore encrypts every record
 * under the DEK before it gets here. A batch is one readwrite transaction, so it is
 * atomic: IndexedDB applies all of it or, if anything fails, none of it.
 */
import { type IDBPDatabase, openDB } from "idb";
import { KEY_PATTERN, type StorageAdapter, type WriteOp } from "../../protocol/storage.js";

const STORE = "records";
const VERSION = 1;

function checkKey(key: unknown): string {
  if (typeof key !== "string" || !KEY_PATTERN.test(key))
    throw new RangeError(`invalid storage key: ${String(key)}`);
  return key;
}

export class IdbStorage implements StorageAdapter {
  private constructor(private readonly db: IDBPDatabase) {}

  static async open(name = "secure-msg"): Promise<IdbStorage> {
    const db: IDBPDatabase = await openDB(name, VERSION, {
      upgrade(upgrading) {
        upgrading.createObjectStore(STORE);
      },
      // Another context wants a newer version: step aside rather than block it.
      blocking: () => db.close(),
    });
    return new IdbStorage(db);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value: unknown = await this.db.get(STORE, checkKey(key));
    if (value === undefined) return undefined;
    if (!(value instanceof Uint8Array)) throw new TypeError(`storage value is not bytes: ${key}`);
    return value;
  }

  /** Keys that start with `prefix`, in order (keys are ASCII, so "\uffff" bounds them). */
  async list(prefix: string): Promise<string[]> {
    const range = IDBKeyRange.bound(prefix, `${prefix}\uffff`);
    return (await this.db.getAllKeys(STORE, range)) as string[];
  }

  async write(ops: WriteOp[]): Promise<void> {
    // Everything that can throw on our side happens before the transaction opens. A copy
    // of each value, so the stored bytes are exactly the view's, not its whole buffer.
    const prepared = ops.map((op) => {
      checkKey(op.key);
      if (op.value !== null && !(op.value instanceof Uint8Array))
        throw new TypeError(`storage value must be a Uint8Array or null: ${op.key}`);
      return { key: op.key, value: op.value === null ? null : op.value.slice() };
    });
    if (prepared.length === 0) return;
    const tx = this.db.transaction(STORE, "readwrite");
    const requests: Promise<unknown>[] = [];
    try {
      for (const op of prepared)
        requests.push(op.value === null ? tx.store.delete(op.key) : tx.store.put(op.value, op.key));
    } catch (e) {
      // A request the store refused outright: without the abort the earlier ones commit.
      tx.abort();
      await Promise.allSettled([...requests, tx.done]);
      throw e;
    }
    await Promise.all([...requests, tx.done]);
  }

  close(): void {
    this.db.close();
  }
}
