/**
 * What Node brings to the protocol's cryptography: synchronous AES-256-GCM (./aead.ts),
 * native SHA-256/HMAC (./hashes.ts) and X25519 (./x25519.ts), installed in one call by every Node entry point
 * (the CLI, and so the relay it launches; the benchmarks, which measure it as it runs).
 * The browser extension keeps WebCrypto and @noble/hashes.
 */
import { useSyncAead } from "../protocol/aead.js";
import { useSyncHashes } from "../protocol/kdf.js";
import { useSyncX25519 } from "../protocol/x25519.js";
import { nodeAead } from "./aead.js";
import { nodeHashes } from "./hashes.js";
import { nodeX25519 } from "./x25519.js";

/** Installs Node's (or, with `false`, removes them: the protocol's portable code, as in a browser). */
export function useNodeCrypto(on = true): void {
  useSyncAead(on ? nodeAead : undefined);
  useSyncHashes(on ? nodeHashes : undefined);
  useSyncX25519(on ? nodeX25519 : undefined);
}
