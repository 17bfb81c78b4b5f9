/**
 * SHA-256 and HMAC-SHA256 from node:crypto for the protocol (protocol/kdf.ts
 * `useSyncHashes`): the same functions as @noble/hashes', native, several times faster
 * for the short inputs of ratchet chain steps and Merkle nodes. Installed with the
 * AES-GCM of ./aead.ts by the CLI's entry point (./node-crypto.ts).
 */
import { createHash, createHmac, hash } from "node:crypto";
import type { SyncHashes } from "../protocol/kdf.js";

const view = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export const nodeHashes: SyncHashes = {
  sha256(parts) {
    // One-shot where it can: it skips making a Hash object (about a third of the time).
    if (parts.length === 1) return view(hash("sha256", parts[0]!, "buffer"));
    const h = createHash("sha256");
    for (const p of parts) h.update(p);
    return view(h.digest());
  },
  hmacSha256(key, parts) {
    const h = createHmac("sha256", key);
    for (const p of parts) h.update(p);
    return view(h.digest());
  },
};
