/** Stored records as their JSON shapes on the wire (docs/protocol.md §13.4). */
import { base64url } from "../protocol/bytes.js";
import type * as api from "../protocol/relay-api.js";
import type { StoredCheckpoint, StoredEntry, StoredMessage } from "./storage/types.js";

const b = base64url.encode;

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
