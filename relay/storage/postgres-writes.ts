/**
 * The PostgresStore's writes that append to the Merkle log, each run inside one
 * transaction by postgres.ts.
 *
 * Appends never fork: each of these transactions first locks the one `log_meta` row
 * FOR UPDATE, so appends from every connection of every relay process take turns. Under
 * READ COMMITTED each later statement takes a fresh snapshot, so once the lock is held it
 * sees the size, the sibling nodes, the messages and the directory entry that the
 * previous holder committed. The duplicate, quota and name checks therefore run after
 * the lock too, and commit order is log order. The primary key of `log_nodes` is the last
 * line of defence: an append that somehow raced would fail, not fork the tree.
 */
import type postgres from "postgres";
import { equal } from "../../protocol/bytes.js";
import {
  frontier,
  nodesForAppend,
  nodesForAppendMany,
  siblingsForAppend,
} from "../../protocol/merkle.js";
import { noticePayload } from "./postgres-notify.js";
import { type EntryRow, type MessageRow, toEntry, toMessage } from "./postgres-rows.js";
import type {
  Deposit,
  DepositResult,
  PutEntryResult,
  StoredEntry,
  StoredMessage,
} from "./types.js";

type Tx = postgres.TransactionSql;

/** Locks the log for this transaction; returns its size. */
async function lockLog(tx: Tx): Promise<number> {
  const [row] = await tx<{ size: number }[]>`SELECT size FROM log_meta WHERE id = 0 FOR UPDATE`;
  return row!.size;
}

/**
 * The writes that append `leaf` as leaf `n` (protocol/merkle.ts), not yet sent: the
 * caller holds lockLog and sends them with its own in one pipeline, so that the lock is
 * held for as few round trips as possible.
 */
async function append(
  tx: Tx,
  n: number,
  leaf: Uint8Array,
): Promise<postgres.PendingQuery<postgres.Row[]>[]> {
  const siblings = await Promise.all(
    siblingsForAppend(n).map(async (s) => {
      const [row] = await tx<{ hash: Buffer }[]>`
        SELECT hash FROM log_nodes WHERE level = ${s.level} AND idx = ${s.index}`;
      if (!row) throw new Error(`log node ${s.level}/${s.index} is missing`);
      return new Uint8Array(row.hash);
    }),
  );
  return [
    ...nodesForAppend(n, leaf, siblings).map(
      (x) =>
        tx`INSERT INTO log_nodes (level, idx, hash) VALUES (${x.level}, ${x.index}, ${x.hash})`,
    ),
    tx`UPDATE log_meta SET size = ${n + 1} WHERE id = 0`,
  ];
}

/** RelayStore.deposit, plus the NOTIFY that tells the other processes (postgres-notify.ts). */
export async function depositTx(
  tx: Tx,
  m: Omit<StoredMessage, "index">,
  leaf: Uint8Array,
  maxPerMailbox: number,
  notice: { channel: string; origin: string },
): Promise<DepositResult> {
  const n = await lockLog(tx);
  const [[existing], [held]] = await Promise.all([
    tx<MessageRow[]>`SELECT * FROM messages WHERE mailbox = ${m.to} AND id = ${m.id}`,
    // Expired messages that `expire` has not swept yet do not count against the quota.
    tx<{ n: number }[]>`
      SELECT count(*) AS n FROM messages WHERE mailbox = ${m.to} AND expires >= ${m.at}`,
  ]);
  if (existing) return { status: "duplicate", message: toMessage(existing) };
  if (held!.n >= maxPerMailbox) return { status: "quota" };
  const index = n;
  // Delivered to the listeners on commit only: never a message they cannot fetch yet.
  const payload = noticePayload(notice.origin, { to: m.to, id: m.id, index });
  await Promise.all([
    ...(await append(tx, n, leaf)),
    tx`
      INSERT INTO messages (mailbox, id, envelope, at, expires, receipt, log_index)
      VALUES (${m.to}, ${m.id}, ${m.envelope}, ${m.at}, ${m.expires}, ${m.receipt}, ${index})`,
    tx`SELECT pg_notify(${notice.channel}, ${payload})`,
  ]);
  const message: StoredMessage = {
    id: m.id,
    to: m.to,
    envelope: m.envelope,
    at: m.at,
    expires: m.expires,
    receipt: m.receipt,
    index,
  };
  return { status: "stored", message };
}

async function readNode(tx: Tx, level: number, index: number): Promise<Uint8Array> {
  const [row] = await tx<{ hash: Buffer }[]>`
    SELECT hash FROM log_nodes WHERE level = ${level} AND idx = ${index}`;
  if (!row) throw new Error(`log node ${level}/${index} is missing`);
  return new Uint8Array(row.hash);
}

/**
 * RelayStore.depositMany: group commit. One lock, one round trip of reads (duplicates,
 * mailbox counts, the log's frontier), one of multi-row writes, one commit. The items are
 * then decided one after another in memory, as `depositTx` would decide them in turn.
 */
export async function depositManyTx(
  tx: Tx,
  items: Deposit[],
  maxPerMailbox: number,
  notice: { channel: string; origin: string },
): Promise<DepositResult[]> {
  const n = await lockLog(tx);
  const mailboxes = [...new Set(items.map((d) => d.message.to))];
  const ids = items.map((d) => d.message.id);
  const [rows, totals, known] = await Promise.all([
    // A superset of the (mailbox, id) pairs asked for: filtered below.
    tx<MessageRow[]>`SELECT * FROM messages WHERE mailbox IN ${tx(mailboxes)} AND id IN ${tx(ids)}`,
    tx<{ mailbox: string; n: number }[]>`
      SELECT mailbox, n FROM mailbox_counts WHERE mailbox IN ${tx(mailboxes)}`,
    Promise.all(frontier(n).map((f) => readNode(tx, f.level, f.index))),
  ]);
  const total = new Map(totals.map((r) => [r.mailbox, r.n]));
  const batched = new Map<string, number>();
  for (const d of items) batched.set(d.message.to, (batched.get(d.message.to) ?? 0) + 1);
  // A mailbox whose total (an upper bound of its unexpired messages) may reach the quota
  // within this batch is counted exactly, per (mailbox, at) asked. Expired messages that
  // `expire` has not swept yet do not count against the quota.
  const near = items
    .map((d) => d.message)
    .filter((m) => (total.get(m.to) ?? 0) + batched.get(m.to)! >= maxPerMailbox);
  const pairs = [...new Map(near.map((m) => [`${m.at}:${m.to}`, m])).values()];
  const counts = await Promise.all(
    pairs.map(
      (m) => tx<{ n: number }[]>`
        SELECT count(*)::int AS n FROM messages WHERE mailbox = ${m.to} AND expires >= ${m.at}`,
    ),
  );
  const exact = new Map(pairs.map((m, i) => [`${m.at}:${m.to}`, counts[i]![0]!.n]));
  const key = (to: string, id: Uint8Array) => `${to}:${Buffer.from(id).toString("hex")}`;
  const seen = new Map(rows.map((r) => [key(r.mailbox, r.id), toMessage(r)]));
  const stored: StoredMessage[] = [];
  const results = items.map(({ message: m }): DepositResult => {
    const earlier = seen.get(key(m.to, m.id));
    if (earlier) return { status: "duplicate", message: earlier };
    const held = exact.get(`${m.at}:${m.to}`);
    const mine = stored.filter((x) => x.to === m.to);
    const count =
      held === undefined
        ? (total.get(m.to) ?? 0) + mine.length
        : held + mine.filter((x) => x.expires >= m.at).length;
    if (count >= maxPerMailbox) return { status: "quota" };
    const message: StoredMessage = { ...m, index: n + stored.length };
    stored.push(message);
    seen.set(key(m.to, m.id), message);
    return { status: "stored", message };
  });
  if (stored.length === 0) return results;
  const leaves = items.flatMap((d, i) => (results[i]!.status === "stored" ? [d.leaf] : []));
  const nodes = nodesForAppendMany(n, leaves, known).map((x) => ({
    level: x.level,
    idx: x.index,
    hash: x.hash,
  }));
  const messages = stored.map((m) => ({
    mailbox: m.to,
    id: m.id,
    envelope: m.envelope,
    at: m.at,
    expires: m.expires,
    receipt: m.receipt,
    log_index: m.index,
  }));
  await Promise.all([
    tx`INSERT INTO log_nodes ${tx(nodes, "level", "idx", "hash")}`,
    tx`INSERT INTO messages ${tx(messages, "mailbox", "id", "envelope", "at", "expires", "receipt", "log_index")}`,
    tx`UPDATE log_meta SET size = ${n + stored.length} WHERE id = 0`,
    // Delivered to the listeners on commit only: never a message they cannot fetch yet.
    ...stored.map(
      (m) =>
        tx`SELECT pg_notify(${notice.channel}, ${noticePayload(notice.origin, { to: m.to, id: m.id, index: m.index })})`,
    ),
  ]);
  return results;
}

/** RelayStore.putEntry. */
export async function putEntryTx(
  tx: Tx,
  e: Omit<StoredEntry, "index">,
  leaf: Uint8Array,
): Promise<PutEntryResult> {
  const n = await lockLog(tx);
  const [row] = await tx<EntryRow[]>`SELECT * FROM directory WHERE name = ${e.name}`;
  if (row) {
    const current = toEntry(row);
    // DESIGN §4: a name belongs to its first identity; a rotation must be newer.
    if (!equal(current.identityKey, e.identityKey) || e.created <= current.created)
      return { status: "conflict", current };
  }
  const index = n;
  await Promise.all([
    ...(await append(tx, n, leaf)),
    tx`
      INSERT INTO directory (name, bundle, identity_key, created, at, signature, log_index)
      VALUES (${e.name}, ${e.bundle}, ${e.identityKey}, ${e.created}, ${e.at}, ${e.signature}, ${index})
      ON CONFLICT (name) DO UPDATE SET bundle = excluded.bundle,
        identity_key = excluded.identity_key, created = excluded.created, at = excluded.at,
        signature = excluded.signature, log_index = excluded.log_index`,
  ]);
  const entry: StoredEntry = {
    name: e.name,
    bundle: e.bundle,
    identityKey: e.identityKey,
    created: e.created,
    at: e.at,
    signature: e.signature,
    index,
  };
  return { status: "stored", entry };
}

/** RelayStore.resign. */
export async function resignTx(
  tx: Tx,
  entries: { name: string; signature: Uint8Array }[],
  messages: { to: string; id: Uint8Array; receipt: Uint8Array }[],
): Promise<void> {
  // Holds appends off while re-signing, so that the data is re-signed as one snapshot.
  await lockLog(tx);
  await Promise.all([
    ...entries.map(
      (e) => tx`UPDATE directory SET signature = ${e.signature} WHERE name = ${e.name}`,
    ),
    ...messages.map(
      (m) =>
        tx`UPDATE messages SET receipt = ${m.receipt} WHERE mailbox = ${m.to} AND id = ${m.id}`,
    ),
  ]);
  await tx`DELETE FROM checkpoints`;
}
