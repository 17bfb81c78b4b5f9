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

/**
 * The inbox answer (§13.4 `GET /v1/inbox`) as the bytes of its JSON text, written straight
 * from the stored bytes: exactly `JSON.stringify` of the answer built as
 * `api.InboxResponse` objects (tests/relay/present.test.ts), without building the objects
 * first. Its keys are fixed, its strings base64url and its numbers safe integers, so the
 * text is ASCII and its bytes are its characters: a Latin-1 copy, with no UTF-8 length
 * scan or encoding of the whole answer (about 95 KB for 50 messages of 1 KiB) after it.
 * Proofs of nearby messages share most of their nodes (RelayLog hands out one array per
 * node), and each node is encoded once per answer.
 */
export function inboxBody(
  messages: StoredMessage[],
  proofs: Uint8Array[][],
  checkpoint: StoredCheckpoint | undefined,
  consistency: Uint8Array[] | undefined,
): Uint8Array<ArrayBuffer> {
  const encoded = new Map<Uint8Array, string>();
  const node = (h: Uint8Array): string => {
    let text = encoded.get(h);
    if (text === undefined) {
      text = b(h);
      encoded.set(h, text);
    }
    return text;
  };
  /** A JSON array of base64url strings. */
  const strings = (list: Uint8Array[]): string =>
    list.length === 0 ? "[]" : `["${list.map(node).join('","')}"]`;
  let out = '{"messages":[';
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (i > 0) out += ",";
    out += `{"id":"${b(m.id)}","at":${int(m.at)},"index":${int(m.index)},"envelope":"${b(m.envelope)}","receipt":"${b(m.receipt)}","proof":${strings(proofs[i]!)}}`;
  }
  out += `],"checkpoint":${checkpoint ? JSON.stringify(checkpointJson(checkpoint)) : "null"}`;
  out += `,"consistency":${consistency ? strings(consistency) : "null"}}`;
  return Buffer.from(out, "latin1");
}

/** A safe integer as JSON writes it; anything else is a bug upstream. */
function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError("not a safe integer");
  return String(n);
}
