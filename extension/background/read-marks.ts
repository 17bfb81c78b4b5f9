/**
 * Read marks: for each peer, the `seq` of the newest message the user has seen. They name
 * contacts, so they are a keystore record like any other, encrypted under the DEK (one
 * record, under a key the protocol's records never use), and they survive restarts.
 */
import { Keystore } from "../../protocol/keystore.js";
import type { MessageRecord } from "../../protocol/records.js";
import type { StorageAdapter } from "../../protocol/storage.js";

const KEY = "extension/read";

export class ReadMarks {
  private constructor(
    private readonly keystore: Keystore,
    private marks: Record<string, number>,
  ) {}

  static async open(storage: StorageAdapter, dek: Uint8Array): Promise<ReadMarks> {
    const keystore = await Keystore.fromDek(storage, dek);
    return new ReadMarks(keystore, (await keystore.get<Record<string, number>>(KEY)) ?? {});
  }

  /** Incoming messages after each peer's mark. */
  unread(history: MessageRecord[]): Map<string, number> {
    const counts = new Map<string, number>();
    for (const m of history)
      if (m.direction === "in" && m.seq > (this.marks[m.peer] ?? 0))
        counts.set(m.peer, (counts.get(m.peer) ?? 0) + 1);
    return counts;
  }

  async markRead(peer: string, seq: number): Promise<void> {
    if (seq <= (this.marks[peer] ?? 0)) return;
    const next = { ...this.marks, [peer]: seq };
    await this.keystore.write([{ key: KEY, value: next }]);
    this.marks = next;
  }

  lock(): void {
    this.keystore.lock();
    this.marks = {};
  }
}
