/**
 * HTTP/1.1 requests written byte for byte to a raw TCP socket, one per connection, so
 * nothing between a test and the relay's HTTP parser tidies them up: unescaped and
 * unicode paths, bad percent-encoding, lying Content-Length headers and bodies cut off
 * mid-way go out exactly as built.
 */
import { connect } from "node:net";

export interface RawRequest {
  method: string;
  /** The request target exactly as sent. */
  target: string;
  headers: [string, string][];
  body: Buffer;
  /** Send only this many body bytes, then close the connection's sending side. */
  truncateAt?: number;
  /** What the request is meant to test (for failure reports). */
  kind: string;
}

export interface RawResponse {
  /** undefined when the relay closed the connection without an answer. */
  status?: number;
  head: string;
}

export const JSON_TYPE: [string, string][] = [["content-type", "application/json"]];

export const utf8Buffer = (s: string) => Buffer.from(s, "utf8");

/** A request with a correct Content-Length. */
export function request(
  kind: string,
  method: string,
  target: string,
  body: Buffer,
  headers: [string, string][] = JSON_TYPE,
): RawRequest {
  return {
    kind,
    method,
    target,
    body,
    headers: [...headers, ["content-length", String(body.length)]],
  };
}

/** A JSON request: `value` serialised, or sent as is when it is a string. */
export function jsonRequest(kind: string, method: string, target: string, value: unknown) {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "null");
  return request(kind, method, target, utf8Buffer(text));
}

/** A body in chunked transfer encoding, in 64 KiB chunks, with its terminating chunk. */
export function chunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0; o < body.length; o += 65_536) {
    const c = body.subarray(o, o + 65_536);
    parts.push(utf8Buffer(`${c.length.toString(16)}\r\n`), c, utf8Buffer("\r\n"));
  }
  parts.push(utf8Buffer("0\r\n\r\n"));
  return Buffer.concat(parts);
}

/** Sends one request on its own connection from `localAddress`; resolves with the answer. */
export function send(port: number, localAddress: string, r: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), 15_000);
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", (e: NodeJS.ErrnoException) => {
      // The relay may answer and close before it read a body still being written.
      if (e.code !== "EPIPE" && e.code !== "ECONNRESET") reject(e);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const head = Buffer.concat(chunks).toString("latin1").split("\r\n\r\n")[0] ?? "";
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ ...(m ? { status: Number(m[1]) } : {}), head: head.slice(0, 500) });
    });
    socket.on("connect", () => {
      const lines = [`${r.method} ${r.target} HTTP/1.1`, `host: 127.0.0.1:${port}`];
      for (const [k, v] of r.headers) lines.push(`${k}: ${v}`);
      lines.push("connection: close", "", "");
      socket.write(utf8Buffer(lines.join("\r\n")));
      // A cut body ends the connection (the relay sees EOF mid-body). A whole request
      // keeps it open until the answer: Node's HTTP server aborts requests in flight
      // when the client half-closes, so ending early would cut off slow answers.
      if (r.truncateAt !== undefined) socket.end(r.body.subarray(0, r.truncateAt));
      else socket.write(r.body);
    });
  });
}
