/**
 * The request body limit, checked without making Node build a web `Request`.
 *
 * Hono's bodyLimit asks `c.req.raw.body` first, and with @hono/node-server that one read
 * turns the lightweight request into a full undici Request with a ReadableStream, an
 * AbortSignal and a web-stream adapter around the socket: about as much work as the rest
 * of an echo request. A body with a `Content-Length` (what every client of ours sends) is
 * judged by that header alone, and Node's parser delivers exactly that many bytes; only a
 * body without one (chunked) is counted as it streams in, by Hono's middleware.
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit as streamingLimit } from "hono/body-limit";
import { cutOff } from "./json.js";

export function bodyLimit(maxSize: number, onError: () => never): MiddlewareHandler {
  const streaming = streamingLimit({ maxSize, onError });
  return async (c, next) => {
    const method = c.req.method;
    // Node's server reads no body for these (and @hono/node-server passes none on).
    if (method === "GET" || method === "HEAD") return next();
    const length = c.req.header("content-length");
    if (length !== undefined && c.req.header("transfer-encoding") === undefined) {
      // Node's parser has refused a malformed or repeated Content-Length already.
      if (Number(length) > maxSize) onError();
      return next();
    }
    // Without a length the body is read here, so a client hanging up is seen here too.
    return streaming(c, next).catch(cutOff);
  };
}
