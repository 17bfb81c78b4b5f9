/**
 * Signed requests for the inbox (docs/protocol.md §13.3): the user signs method, path,
 * time, nonce, body hash and the relay's key with the Ed25519 half of their identity key.
 * The relay checks the clock window, the signature, and then the nonce (a replay cache
 * in the store, so it holds across relay processes). The signature is checked before
 * the nonce is recorded, so a forger cannot burn someone's nonces.
 */
import type { MiddlewareHandler } from "hono";
import { base64url } from "../protocol/bytes.js";
import { ProtocolError } from "../protocol/errors.js";
import {
  Context,
  Header,
  MAX_REQUEST_SKEW_MS,
  NONCE_LENGTH,
  requestBody,
} from "../protocol/relay-api.js";
import { ED25519_PUBLIC_LENGTH } from "../protocol/sign.js";
import { edVerify } from "./ed25519.js";
import { relayFail } from "./errors.js";
import { readBody } from "./json.js";
import type { RelayStore, StoredEntry } from "./storage/types.js";

export interface AuthEnv {
  Variables: { user: StoredEntry; body: Uint8Array };
}

function decode(value: string | undefined, what: string, length?: number): Uint8Array {
  try {
    const b = base64url.decode(value ?? "");
    if (length !== undefined && b.length !== length) throw new Error("length");
    return b;
  } catch (e) {
    if (e instanceof Error && !(e instanceof ProtocolError) && e.message !== "length") throw e;
    return relayFail("UNAUTHORIZED", `malformed ${what} header`);
  }
}

export function requestAuth(opts: {
  store: RelayStore;
  relayKey: Uint8Array;
  now: () => number;
}): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const name = c.req.header(Header.user);
    const timeText = c.req.header(Header.time);
    if (!name || !timeText) return relayFail("UNAUTHORIZED", "this request must be signed");
    if (!/^\d{1,16}$/.test(timeText)) return relayFail("UNAUTHORIZED", "malformed time header");
    const time = Number(timeText);
    const nonce = decode(c.req.header(Header.nonce), "nonce", NONCE_LENGTH);
    const signature = decode(c.req.header(Header.signature), "signature", 64);
    const now = opts.now();
    if (Math.abs(now - time) > MAX_REQUEST_SKEW_MS)
      return relayFail("STALE_REQUEST", "request time is outside the allowed clock window");
    const user = await opts.store.getEntry(name);
    if (!user) return relayFail("UNAUTHORIZED", "unknown user or bad signature");
    // Node's server passes no body on for GET and HEAD; asking for one anyway would make
    // @hono/node-server build a whole web Request for nothing.
    const method = c.req.method;
    const body = method === "GET" || method === "HEAD" ? new Uint8Array(0) : await readBody(c);
    const url = new URL(c.req.url);
    const signed = requestBody({
      method,
      path: url.pathname + url.search,
      name,
      time,
      nonce,
      body,
      relayKey: opts.relayKey,
    });
    const key = user.identityKey.subarray(0, ED25519_PUBLIC_LENGTH);
    if (!edVerify(key, Context.request, signed, signature))
      return relayFail("BAD_SIGNATURE", "unknown user or bad signature");
    const fresh = await opts.store.useNonce(
      `${name}:${base64url.encode(nonce)}`,
      time + MAX_REQUEST_SKEW_MS,
      now,
    );
    if (!fresh) return relayFail("REPLAYED_REQUEST", "this request was already used");
    c.set("user", user);
    c.set("body", body);
    await next();
  };
}
