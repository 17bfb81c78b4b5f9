/**
 * Signed inbox requests (docs/protocol.md §13.3), made ahead of time so that signing is
 * not part of what is measured: each has its own nonce (the relay refuses a replay).
 */
import { base64url, randomBytes } from "../protocol/bytes.js";
import { Context, Header, NONCE_LENGTH, requestBody } from "../protocol/relay-api.js";
import { ed25519 } from "../protocol/sign.js";

export async function signedHeaders(p: {
  /** The user's Ed25519 seed (the first half of the identity seed). */
  seed: Uint8Array;
  relayKey: Uint8Array;
  name: string;
  method: string;
  path: string;
  count: number;
}): Promise<Record<string, string>[]> {
  const one = async () => {
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
      [Header.signature]: base64url.encode(await ed25519.sign(p.seed, Context.request, signed)),
    };
  };
  const out: Record<string, string>[] = [];
  while (out.length < p.count) out.push(...(await Promise.all(Array.from({ length: 64 }, one))));
  return out.slice(0, p.count);
}
