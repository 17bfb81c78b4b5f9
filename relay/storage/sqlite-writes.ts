/**
 * The SqliteStore's writes that append to the Merkle log, each run by sqlite.ts inside
 * one IMMEDIATE transaction (which holds the write lock, so appends never fork).
 */
import { frontier, nodesForAppendMany } from "../../protocol/merkle.js";
import { toMessage } from "./rows.js";
import type { Statements } from "./sqlite-statements.js";
import type { Deposit, DepositResult, StoredMessage } from "./types.js";

export function readNode(q: Statements, level: number, index: number): Uint8Array {
  const row = q.node.get({ level, idx: index });
  if (!row) throw new Error(`log node ${level}/${index} is missing`);
  return new Uint8Array(row.hash);
}

/** Appends `leaves` to the log (protocol/merkle.ts); returns the first one's index. */
export function appendLeaves(q: Statements, leaves: Uint8Array[]): number {
  const size = q.logSize.get()!.size;
  if (leaves.length === 0) return size;
  const known = frontier(size).map((f) => readNode(q, f.level, f.index));
  for (const x of nodesForAppendMany(size, leaves, known))
    q.insertNode.run({ level: x.level, idx: x.index, hash: x.hash });
  q.setLogSize.run({ size: size + leaves.length });
  return size;
}

/**
 * RelayStore.depositMany. Each item is checked and written in turn, so later items see
 * earlier ones: duplicates and quota exactly as one deposit after another.
 */
export function depositBatch(
  q: Statements,
  items: Deposit[],
  maxPerMailbox: number,
): DepositResult[] {
  const size = q.logSize.get()!.size;
  const leaves: Uint8Array[] = [];
  /**
   * Per mailbox, for one `at`: its message total (an upper bound of the unexpired ones,
   * which the quota counts), or, once that reaches the quota, the exact count.
   */
  const held = new Map<string, { at: number; n: number; exact: boolean }>();
  const results = items.map(({ message: m, leaf }): DepositResult => {
    const existing = q.message.get({ mailbox: m.to, id: m.id });
    if (existing) return { status: "duplicate", message: toMessage(existing) };
    let count = held.get(m.to);
    if (count?.at !== m.at) {
      count = { at: m.at, n: q.mailboxTotal.get({ mailbox: m.to })?.n ?? 0, exact: false };
      held.set(m.to, count);
    }
    // Expired messages that `expire` has not swept yet do not count against the quota.
    if (count.n >= maxPerMailbox && !count.exact) {
      count.n = q.countMailbox.get({ mailbox: m.to, now: m.at })!.n;
      count.exact = true;
    }
    if (count.n >= maxPerMailbox) return { status: "quota" };
    const message: StoredMessage = { ...m, index: size + leaves.length };
    leaves.push(leaf);
    q.insertMessage.run({ ...message, mailbox: m.to });
    if (!count.exact || m.expires >= count.at) count.n++;
    return { status: "stored", message };
  });
  appendLeaves(q, leaves);
  return results;
}
