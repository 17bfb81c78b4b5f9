/** Stored records as their JSON shapes on the wire (docs/protocol.md §13.4). */
import type * as api from "../protocol/relay-api.js";
import type { StoredCheckpoint, StoredEntry, StoredMessage } from "./storage/types.js";

/** base64url (§2.5) through Buffer: native, and the same text as protocol/bytes.ts makes. */
export const b = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");

export function checkpointJson(c: StoredCheckpoint): api.Checkpoint {
  return { size: c.size, root: b(c.root), at: c.at, signature: b(c.signature) };
}

export function entryJson(e: StoredEntry): api.DirectoryEntry {
  return { name: e.name, bundle: b(e.bundle), at: e.at, index: e.index, signature: b(e.signature) };
}

export function messageJson(m: StoredMessage, proof: Uint8Array[]): api.InboxMessage {
  return {
    id: b(m.id),
    at: m.at,
    index: m.index,
    envelope: b(m.envelope),
    receipt: b(m.receipt),
    proof: proof.map(b),
  };
}
