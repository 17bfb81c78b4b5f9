/**
 * The row shapes both backends store (schemas: sqlite-migrations.ts and
 * postgres-migrations.ts, same columns), and their conversion to the store's types. Both
 * drivers return bytea/BLOB columns as Buffers; callers see plain Uint8Arrays from every
 * backend.
 */
import type { StoredCheckpoint, StoredEntry, StoredMessage } from "./types.js";

export interface MessageRow {
  id: Buffer;
  mailbox: string;
  envelope: Buffer;
  at: number;
  expires: number;
  receipt: Buffer;
  log_index: number;
}

export interface EntryRow {
  name: string;
  bundle: Buffer;
  identity_key: Buffer;
  created: number;
  at: number;
  signature: Buffer;
  log_index: number;
}

export interface CheckpointRow {
  size: number;
  root: Buffer;
  at: number;
  signature: Buffer;
}

/**
 * A plain Uint8Array over a row's Buffer, without copying it: a message is read far more
 * often than anything else, and nothing writes into these bytes.
 */
function view(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function toMessage(r: MessageRow): StoredMessage {
  return {
    id: view(r.id),
    to: r.mailbox,
    envelope: view(r.envelope),
    at: r.at,
    expires: r.expires,
    receipt: view(r.receipt),
    index: r.log_index,
  };
}

/** A fetched message as SQLite's raw row: id, envelope, at, expires, receipt, log_index. */
export type FetchRow = [Buffer, Buffer, number, number, Buffer, number];

export function fetchedMessage(to: string, r: FetchRow): StoredMessage {
  return {
    id: view(r[0]),
    to,
    envelope: view(r[1]),
    at: r[2],
    expires: r[3],
    receipt: view(r[4]),
    index: r[5],
  };
}

export function toEntry(r: EntryRow): StoredEntry {
  return {
    name: r.name,
    bundle: new Uint8Array(r.bundle),
    identityKey: new Uint8Array(r.identity_key),
    created: r.created,
    at: r.at,
    signature: new Uint8Array(r.signature),
    index: r.log_index,
  };
}

export function toCheckpoint(r: CheckpointRow): StoredCheckpoint {
  return {
    size: r.size,
    root: new Uint8Array(r.root),
    at: r.at,
    signature: new Uint8Array(r.signature),
  };
}
