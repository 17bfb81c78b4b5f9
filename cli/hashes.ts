/**
 * SHA-256 and HMAC-SHA256 from node:crypto for the protocol (protocol/kdf.ts
 * `useSyncHashes`): the same functions as @noble/hashes', native, several times faster
 * for the short inputs of ratchet chain steps and Merkle nodes. Installed with the
 * AES-GCM of ./aead.ts by the CLI's entry point (./node-crypto.ts).
 */
import { createHash, createHmac, hash } from "node:crypto";
import type { SyncHashes } from "../protocol/kdf.js";

/** Inputs up to this many bytes are joined and hashed in one call. */
const SHORT = 1024;

const view = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export const nodeHashes: SyncHashes = {
  sha256(parts) {
    // One-shot where it can: it skips making a Hash object (about a third of the time),
    // and joining a few short parts (Merkle nodes, leaves) costs less than that.
    if (parts.length === 1) return view(hash("sha256", parts[0]!, "buffer"));
    let length = 0;
    for (const p of parts) length += p.length;
    if (length <= SHORT) return view(hash("sha256", Buffer.concat(parts, length), "buffer"));
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
