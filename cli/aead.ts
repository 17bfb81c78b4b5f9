/**
 * AES-256-GCM from node:crypto for the protocol (protocol/aead.ts `useSyncAead`): the
 * same cipher as WebCrypto's, run synchronously, which saves the asynchronous round trips
 * that dominate the cost of a small message. Installed by the CLI's entry point.
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import type { SyncAead } from "../protocol/aead.js";

const TAG = 16;

export const nodeAead: SyncAead = {
  seal(key, nonce, plaintext, aad) {
    const c = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG });
    c.setAAD(aad);
    const head = c.update(plaintext);
    const tail = c.final();
    const out = new Uint8Array(head.length + tail.length + TAG);
    out.set(head, 0);
    out.set(tail, head.length);
    out.set(c.getAuthTag(), head.length + tail.length);
    return out;
  },
  open(key, nonce, ciphertext, aad) {
    const d = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG });
    d.setAuthTag(ciphertext.subarray(ciphertext.length - TAG));
    d.setAAD(aad);
    const head = d.update(ciphertext.subarray(0, ciphertext.length - TAG));
    const tail = d.final(); // throws unless the tag verifies
    const out = new Uint8Array(head.length + tail.length);
    out.set(head, 0);
    out.set(tail, head.length);
    return out;
  },
};
