/**
 * Signed inbox requests (docs/protocol.md §13.3), made ahead of time so that signing is
 * not part of what is measured: each has its own nonce (the relay refuses a replay).
 * Signed through node:crypto with the key imported once (relay/ed25519.ts, the same bytes
 * as protocol/sign.ts): tens of thousands are needed per run.
 */
import { base64url, randomBytes } from "../protocol/bytes.js";
import { Context, Header, NONCE_LENGTH, requestBody } from "../protocol/relay-api.js";
import { edSign, privateKey } from "../relay/ed25519.js";

export function signedHeaders(p: {
  /** The user's Ed25519 seed (the first half of the identity seed). */
  seed: Uint8Array;
  relayKey: Uint8Array;
  name: string;
  method: string;
  path: string;
  count: number;
}): Record<string, string>[] {
  const key = privateKey(p.seed);
  const one = () => {
    const time = Date.now();
    const nonce = randomBytes(NONCE_LENGTH);
    const signed = requestBody({
      method: p.method,
      path: p.path,
      name: p.name,
      time,
      nonce,
      body: new Uint8Array(0),
      relayKey: p.relayKey,
    });
    return {
      [Header.user]: p.name,
      [Header.time]: String(time),
      [Header.nonce]: base64url.encode(nonce),
      [Header.signature]: base64url.encode(edSign(key, Context.request, signed)),
    };
  };
  return Array.from({ length: p.count }, one);
}
