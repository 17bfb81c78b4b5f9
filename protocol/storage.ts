/**
 * The storage adapter (docs/protocol.md §8.1): the one interface through which the
 * keystore reads and writes. The CLI implements it over a profile folder, the extension
 * over IndexedDB, tests in memory. Values are opaque bytes: the keystore encrypts
 * everything except its own header record before it reaches an adapter.
 */

/** A write or a delete in an atomic batch. `value: null` deletes the key. */
export interface WriteOp {
  key: string;
  value: Uint8Array | null;
}

export interface StorageAdapter {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys that start with `prefix`, in lexicographic order. */
  list(prefix: string): Promise<string[]>;
  /**
   * Applies every op or none of them, even across a crash: after a restart a reader sees
   * either the state before the batch or the state after it.
   */
  write(ops: WriteOp[]): Promise<void>;
}

/** Keys are short ASCII paths: letters, digits, and `._-/`, no `..`, at most 200 chars. */
export const KEY_PATTERN = /^(?!.*\.\.)[A-Za-z0-9._-][A-Za-z0-9._/-]{0,199}$/;

/** An adapter that keeps everything in a Map: for tests and short-lived tools. */
export class MemoryStorage implements StorageAdapter {
  readonly data = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.data.get(key)?.slice();
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.data.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async write(ops: WriteOp[]): Promise<void> {
    for (const op of ops) {
      if (!KEY_PATTERN.test(op.key)) throw new RangeError(`invalid storage key: ${op.key}`);
    }
    for (const op of ops) {
      if (op.value === null) this.data.delete(op.key);
      else this.data.set(op.key, op.value.slice());
    }
  }
}
