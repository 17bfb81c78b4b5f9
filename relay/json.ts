/** Reads a JSON request body strictly: the right content type, valid JSON, the right shape. */
import type { Context } from "hono";
import type { z } from "zod";
import { relayFail } from "./errors.js";

/**
 * Rethrows a failure to read the request body, except that a client hanging up before
 * its body was complete is a bad request, not a fault of the relay: nobody is left to
 * read the answer, but it must not be logged or counted as an internal error (anyone
 * could flood the error log with it). Node fails the body with ECONNRESET ("aborted").
 */
export function cutOff(e: unknown): never {
  if (e instanceof Error && (e as NodeJS.ErrnoException).code === "ECONNRESET")
    relayFail("BAD_REQUEST", "the request body was cut off");
  throw e;
}

export async function readBody(c: Context): Promise<Uint8Array> {
  return new Uint8Array(await c.req.arrayBuffer().catch(cutOff));
}

export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  raw?: Uint8Array,
): Promise<z.infer<S>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/json(\s*;|$)/i.test(type))
    relayFail("UNSUPPORTED_MEDIA_TYPE", "send application/json");
  const bytes = raw ?? (await readBody(c));
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    return relayFail("BAD_JSON", "the body is not valid JSON");
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.join(".") || "body";
    return relayFail("BAD_REQUEST", `invalid ${where}: ${issue?.message ?? "wrong shape"}`);
  }
  return r.data;
}

/**
 * Strict base64url (docs/protocol.md §2.5) through Node's native codec: the same strings
 * are accepted, with the same bytes, as by protocol/bytes.ts `base64url.decode`
 * (tests/relay/base64.test.ts). Node's decoder is lenient (it skips characters it does
 * not know, takes `+/=` too, and ignores unused bits), but a string is canonical exactly
 * when the bytes it decodes to encode back to it; undefined for any other string.
 */
export function decodeBase64url(value: string): Uint8Array | undefined {
  const bytes = Buffer.from(value, "base64url");
  if (bytes.toString("base64url") !== value) return undefined;
  // A copy: a short string's Buffer is a view into Node's shared pool.
  return new Uint8Array(bytes);
}

/** Decodes a base64url field of a validated body; BAD_REQUEST names the field. */
export function bytesField(value: string, field: string): Uint8Array {
  return (
    decodeBase64url(value) ?? relayFail("BAD_REQUEST", `invalid ${field}: not canonical base64url`)
  );
}
