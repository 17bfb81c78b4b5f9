/**
 * The PostgresStore's writes that append to the Merkle log, each run inside one
 * transaction by postgres.ts (postgres-pool.ts `tx`).
 *
 * Appends never fork: each of these transactions first locks the one `log_meta` row
 * FOR UPDATE, so appends from every connection of every relay process take turns. Under
 * READ COMMITTED each later statement takes a fresh snapshot, so once the lock is held it
 * sees the size, the sibling nodes, the messages and the directory entry that the
 * previous holder committed. The duplicate, quota and name checks therefore run after
 * the lock too, and commit order is log order. The primary key of `log_nodes` is the last
 * line of defence: an append that somehow raced would fail, not fork the tree.
 *
 * node-postgres sends one statement at a time, so the lock is held for as few statements
 * as possible: the reads are gathered into few queries, and the writes of an append go in
 * one statement (data-modifying WITH clauses, each run exactly once), with multi-row
 * values passed as arrays and `unnest`ed.
 */
import { equal } from "../../protocol/bytes.js";
import {
  frontier,
  nodesForAppend,
  nodesForAppendMany,
  siblingsForAppend,
} from "../../protocol/merkle.js";
import { long } from "./postgres-connect.js";
import { noticePayload } from "./postgres-notify.js";
import type { Conn } from "./postgres-pool.js";
import { type EntryRow, type MessageRow, toEntry, toMessage } from "./rows.js";
import type {
  Deposit,
  DepositResult,
  PutEntryResult,
  SignReceipts,
  StoredEntry,
  StoredMessage,
} from "./types.js";

type Tx = Conn;

/** Locks the log for this transaction; returns its size. */
async function lockLog(tx: Tx): Promise<number> {
  const { rows } = await tx.query<{ size: number }>(
    "SELECT size FROM log_meta WHERE id = 0 FOR UPDATE",
  );
  return rows[0]!.size;
}

/** The log nodes at these positions, in the same order; a missing one is a bug. */
export async function readNodes(
  tx: Tx,
  keys: { level: number; index: number }[],
): Promise<Uint8Array[]> {
  if (keys.length === 0) return [];
  const { rows } = await tx.query<{ level: number; idx: number; hash: Buffer }>(
    `SELECT level, idx, hash FROM log_nodes
     WHERE (level, idx) IN (SELECT * FROM unnest($1::integer[], $2::bigint[]))`,
    [keys.map((k) => k.level), keys.map((k) => k.index)],
  );
  const got = new Map(rows.map((r) => [`${r.level}/${r.idx}`, r.hash]));
  return keys.map((k) => {
    const hash = got.get(`${k.level}/${k.index}`);
    if (!hash) throw new Error(`log node ${k.level}/${k.index} is missing`);
    return new Uint8Array(hash);
  });
}

/**
 * The start of the one statement that writes an append: its new nodes ($1 to $3) and the
 * log's new size ($4). The caller adds its own WITH clauses and the final SELECT.
 */
const APPEND = `
  WITH nodes AS (
    INSERT INTO log_nodes (level, idx, hash)
    SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bytea[])
  ), meta AS (
    UPDATE log_meta SET size = $4 WHERE id = 0
  )`;

function appendValues(
  nodes: { level: number; index: number; hash: Uint8Array }[],
  size: number,
): unknown[] {
  return [nodes.map((x) => x.level), nodes.map((x) => x.index), nodes.map((x) => x.hash), size];
}

/** The nodes that appending `leaf` as leaf `n` adds (protocol/merkle.ts). */
async function appendNodes(tx: Tx, n: number, leaf: Uint8Array) {
  const siblings = await readNodes(tx, siblingsForAppend(n));
  return nodesForAppend(n, leaf, siblings);
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
  // One row: the same id if stored (or NULLs), and the mailbox's unexpired messages.
  // Expired messages that `expire` has not swept yet do not count against the quota.
  const { rows } = await tx.query<MessageRow & { held: number }>(
    `SELECT m.*, (SELECT count(*) FROM messages WHERE mailbox = $1 AND expires >= $3) AS held
     FROM (SELECT 1) AS one LEFT JOIN messages m ON m.mailbox = $1 AND m.id = $2`,
    [m.to, m.id, m.at],
  );
  const found = rows[0]!;
  if (found.id !== null && found.expires >= m.at)
    return { status: "duplicate", message: toMessage(found) };
  // An expired copy that `expire` has not swept yet is gone for the protocol (§13.4):
  // this deposit stores the message again, as a new one.
  if (found.id !== null)
    await tx.query("DELETE FROM messages WHERE mailbox = $1 AND id = $2", [m.to, m.id]);
  if (found.held >= maxPerMailbox) return { status: "quota" };
  const index = n;
  // Delivered to the listeners on commit only: never a message they cannot fetch yet.
  const payload = noticePayload(notice.origin, { to: m.to, id: m.id, index });
  await tx.query(
    `${APPEND}, msg AS (
      INSERT INTO messages (mailbox, id, envelope, at, expires, receipt, log_index)
      VALUES ($5, $6, $7, $8, $9, $10, $11)
    )
    SELECT pg_notify($12, $13)`,
    [
      ...appendValues(await appendNodes(tx, n, leaf), n + 1),
      m.to,
      m.id,
      m.envelope,
      m.at,
      m.expires,
      m.receipt,
      index,
      notice.channel,
      payload,
    ],
  );
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

/**
 * RelayStore.depositMany: group commit. One lock, a few reads (duplicates, mailbox
 * counts, the log's frontier), one statement of multi-row writes, one commit. The items
 * are then decided one after another in memory, as `depositTx` would decide them in turn.
 */
export async function depositManyTx(
  tx: Tx,
  items: Deposit[],
  maxPerMailbox: number,
  sign: SignReceipts,
  notice: { channel: string; origin: string },
): Promise<DepositResult[]> {
  const n = await lockLog(tx);
  const mailboxes = [...new Set(items.map((d) => d.message.to))];
  const ids = items.map((d) => d.message.id);
  // A superset of the (mailbox, id) pairs asked for: filtered below.
  const { rows } = await tx.query<MessageRow>(
    "SELECT * FROM messages WHERE mailbox = ANY($1::text[]) AND id = ANY($2::bytea[])",
    [mailboxes, ids],
  );
  const { rows: totals } = await tx.query<{ mailbox: string; n: number }>(
    "SELECT mailbox, n FROM mailbox_counts WHERE mailbox = ANY($1::text[])",
    [mailboxes],
  );
  const known = await readNodes(tx, frontier(n));
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
  const exact = new Map<string, number>();
  if (pairs.length > 0) {
    const { rows: counts } = await tx.query<{ mailbox: string; at: number; n: number }>(
      `SELECT p.mailbox, p.at, (SELECT count(*) FROM messages
         WHERE mailbox = p.mailbox AND expires >= p.at) AS n
       FROM unnest($1::text[], $2::bigint[]) AS p (mailbox, at)`,
      [pairs.map((m) => m.to), pairs.map((m) => m.at)],
    );
    for (const c of counts) exact.set(`${c.at}:${c.mailbox}`, c.n);
  }
  const key = (to: string, id: Uint8Array) => `${to}:${Buffer.from(id).toString("hex")}`;
  const existing = new Map(rows.map((r) => [key(r.mailbox, r.id), toMessage(r)]));
  /** Stored by this batch: a repeat is a duplicate of the first. */
  const seen = new Map<string, StoredMessage>();
  /** Expired copies not swept yet: gone for the protocol (§13.4), deleted before the insert. */
  const gone: StoredMessage[] = [];
  const stored: StoredMessage[] = [];
  const results = items.map(({ message: m }): DepositResult => {
    const k = key(m.to, m.id);
    const repeat = seen.get(k);
    if (repeat) return { status: "duplicate", message: repeat };
    const old = existing.get(k);
    if (old && old.expires >= m.at) return { status: "duplicate", message: old };
    if (old) {
      gone.push(old);
      existing.delete(k);
    }
    const held = exact.get(`${m.at}:${m.to}`);
    const mine = stored.filter((x) => x.to === m.to);
    const count =
      held === undefined
        ? (total.get(m.to) ?? 0) + mine.length
        : held + mine.filter((x) => x.expires >= m.at).length;
    if (count >= maxPerMailbox) return { status: "quota" };
    // Its receipt is signed below, once the batch's stored deposits are known.
    const message: StoredMessage = { ...m, receipt: new Uint8Array(0), index: n + stored.length };
    stored.push(message);
    seen.set(key(m.to, m.id), message);
    return { status: "stored", message };
  });
  if (stored.length === 0) return results;
  const leaves = items.flatMap((d, i) => (results[i]!.status === "stored" ? [d.leaf] : []));
  const receipts = sign(leaves);
  if (receipts.length !== stored.length) throw new Error("receipts lost");
  for (const [i, m] of stored.entries()) m.receipt = receipts[i]!;
  const nodes = nodesForAppendMany(n, leaves, known);
  // Delivered to the listeners on commit only: never a message they cannot fetch yet.
  const payloads = stored.map((m) =>
    noticePayload(notice.origin, { to: m.to, id: m.id, index: m.index }),
  );
  if (gone.length > 0) {
    // The count rows this transaction's two triggers touch, locked first in mailbox
    // order (as the triggers lock them), so that the DELETE's trigger cannot take one
    // out of order and deadlock with another writer's.
    await tx.query(
      "SELECT 1 FROM mailbox_counts WHERE mailbox = ANY($1::text[]) ORDER BY mailbox FOR UPDATE",
      [[...new Set([...gone, ...stored].map((m) => m.to))]],
    );
    await tx.query(
      `DELETE FROM messages WHERE (mailbox, id) IN
         (SELECT * FROM unnest($1::text[], $2::bytea[]))`,
      [gone.map((m) => m.to), gone.map((m) => m.id)],
    );
  }
  await tx.query(
    `${APPEND}, msg AS (
      INSERT INTO messages (mailbox, id, envelope, at, expires, receipt, log_index)
      SELECT * FROM unnest($5::text[], $6::bytea[], $7::bytea[], $8::bigint[], $9::bigint[],
        $10::bytea[], $11::bigint[])
    )
    SELECT pg_notify($12, p) FROM unnest($13::text[]) AS p`,
    [
      ...appendValues(nodes, n + stored.length),
      stored.map((m) => m.to),
      stored.map((m) => m.id),
      stored.map((m) => m.envelope),
      stored.map((m) => m.at),
      stored.map((m) => m.expires),
      stored.map((m) => m.receipt),
      stored.map((m) => m.index),
      notice.channel,
      payloads,
    ],
  );
  return results;
}

/** RelayStore.putEntry. */
export async function putEntryTx(
  tx: Tx,
  e: Omit<StoredEntry, "index">,
  leaf: Uint8Array,
): Promise<PutEntryResult> {
  const n = await lockLog(tx);
  const { rows } = await tx.query<EntryRow>("SELECT * FROM directory WHERE name = $1", [e.name]);
  const row = rows[0];
  if (row) {
    const current = toEntry(row);
    // DESIGN §4: a name belongs to its first identity; a rotation must be newer.
    if (!equal(current.identityKey, e.identityKey) || e.created <= current.created)
      return { status: "conflict", current };
  }
  const index = n;
  await tx.query(
    `${APPEND}
    INSERT INTO directory (name, bundle, identity_key, created, at, signature, log_index)
    VALUES ($5, $6, $7, $8, $9, $10, $11)
    ON CONFLICT (name) DO UPDATE SET bundle = excluded.bundle,
      identity_key = excluded.identity_key, created = excluded.created, at = excluded.at,
      signature = excluded.signature, log_index = excluded.log_index`,
    [
      ...appendValues(await appendNodes(tx, n, leaf), n + 1),
      e.name,
      e.bundle,
      e.identityKey,
      e.created,
      e.at,
      e.signature,
      index,
    ],
  );
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

/** RelayStore.resign, in a transaction run `unbounded`: it rewrites every row. */
export async function resignTx(
  tx: Tx,
  entries: { name: string; signature: Uint8Array }[],
  messages: { to: string; id: Uint8Array; receipt: Uint8Array }[],
): Promise<void> {
  // Holds appends off while re-signing, so that the data is re-signed as one snapshot.
  await lockLog(tx);
  if (entries.length > 0)
    await tx.query(
      long(
        `UPDATE directory d SET signature = u.signature
         FROM unnest($1::text[], $2::bytea[]) AS u (name, signature) WHERE d.name = u.name`,
        [entries.map((e) => e.name), entries.map((e) => e.signature)],
      ),
    );
  if (messages.length > 0)
    await tx.query(
      long(
        `UPDATE messages m SET receipt = u.receipt
         FROM unnest($1::text[], $2::bytea[], $3::bytea[]) AS u (mailbox, id, receipt)
         WHERE m.mailbox = u.mailbox AND m.id = u.id`,
        [messages.map((m) => m.to), messages.map((m) => m.id), messages.map((m) => m.receipt)],
      ),
    );
  await tx.query("DELETE FROM checkpoints");
}
