/**
 * What Node brings to the protocol's cryptography: synchronous AES-256-GCM (./aead.ts)
 * and native SHA-256/HMAC (./hashes.ts), installed in one call by every Node entry point
 * (the CLI, and so the relay it launches; the benchmarks, which measure it as it runs).
 * The browser extension keeps WebCrypto and @noble/hashes.
 */
import { useSyncAead } from "../protocol/aead.js";
import { useSyncHashes } from "../protocol/kdf.js";
import { nodeAead } from "./aead.js";
import { nodeHashes } from "./hashes.js";

/** Installs Node's (or, with `false`, removes them: the protocol's portable code, as in a browser). */
export function useNodeCrypto(on = true): void {
  useSyncAead(on ? nodeAead : undefined);
  useSyncHashes(on ? nodeHashes : undefined);
}
