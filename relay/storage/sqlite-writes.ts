/**
 * The SqliteStore's writes that append to the Merkle log, each run by sqlite.ts inside
 * one IMMEDIATE transaction (which holds the write lock, so appends never fork).
 */
import { frontier, nodesForAppendMany } from "../../protocol/merkle.js";
import { toMessage } from "./rows.js";
import type { Statements } from "./sqlite-statements.js";
import type { Deposit, DepositResult, SignReceipts, StoredMessage } from "./types.js";

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
 * RelayStore.depositMany. Each item is decided in turn, so later items see earlier ones:
 * duplicates and quota exactly as one deposit after another. Then the stored ones' receipts
 * are signed at once (`sign`) and they are written.
 */
export function depositBatch(
  q: Statements,
  items: Deposit[],
  maxPerMailbox: number,
  sign: SignReceipts,
): DepositResult[] {
  const size = q.logSize.get()!.size;
  const leaves: Uint8Array[] = [];
  const stored: StoredMessage[] = [];
  /** Stored by this batch, by mailbox and id: a repeat is a duplicate of the first. */
  const batched = new Map<string, StoredMessage>();
  /**
   * Per mailbox, for one `at`: its message total (an upper bound of the unexpired ones,
   * which the quota counts), or, once that reaches the quota, the exact count.
   */
  const held = new Map<string, { at: number; n: number; exact: boolean }>();
  const results = items.map(({ message: m, leaf }): DepositResult => {
    const key = `${m.to}\n${Buffer.from(m.id).toString("hex")}`;
    const mine = batched.get(key);
    if (mine) return { status: "duplicate", message: mine };
    const existing = q.message.get({ mailbox: m.to, id: m.id });
    if (existing && existing.expires >= m.at)
      return { status: "duplicate", message: toMessage(existing) };
    // An expired copy that `expire` has not swept yet is gone for the protocol (§13.4):
    // this deposit stores the message again, as a new one.
    if (existing) q.deleteMessage.run({ mailbox: m.to, id: m.id });
    let count = held.get(m.to);
    if (count?.at !== m.at) {
      // Messages stored earlier in this batch are not in the table yet: count them too.
      const earlier = stored.filter((x) => x.to === m.to);
      count = {
        at: m.at,
        n: (q.mailboxTotal.get({ mailbox: m.to })?.n ?? 0) + earlier.length,
        exact: false,
      };
      held.set(m.to, count);
    }
    // Expired messages that `expire` has not swept yet do not count against the quota.
    if (count.n >= maxPerMailbox && !count.exact) {
      const earlier = stored.filter((x) => x.to === m.to && x.expires >= m.at);
      count.n = q.countMailbox.get({ mailbox: m.to, now: m.at })!.n + earlier.length;
      count.exact = true;
    }
    if (count.n >= maxPerMailbox) return { status: "quota" };
    // Its receipt is signed below, once the batch's stored deposits are known.
    const message: StoredMessage = {
      ...m,
      receipt: new Uint8Array(0),
      index: size + leaves.length,
    };
    leaves.push(leaf);
    stored.push(message);
    batched.set(key, message);
    if (!count.exact || m.expires >= count.at) count.n++;
    return { status: "stored", message };
  });
  if (stored.length === 0) return results;
  const receipts = sign(leaves);
  if (receipts.length !== stored.length) throw new Error("receipts lost");
  for (const [i, message] of stored.entries()) {
    message.receipt = receipts[i]!;
    q.insertMessage.run({ ...message, mailbox: message.to });
  }
  appendLeaves(q, leaves);
  return results;
}
