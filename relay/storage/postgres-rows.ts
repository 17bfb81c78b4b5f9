/**
 * The PostgresStore's row shapes (schema: postgres-migrations.ts). The driver returns
 * bytea as Buffers; `toMessage` and `toEntry` copy them into plain Uint8Arrays so that
 * callers see the same types from every backend.
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

export function toMessage(r: MessageRow): StoredMessage {
  return {
    id: new Uint8Array(r.id),
    to: r.mailbox,
    envelope: new Uint8Array(r.envelope),
    at: r.at,
    expires: r.expires,
    receipt: new Uint8Array(r.receipt),
    index: r.log_index,
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
