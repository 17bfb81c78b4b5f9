/**
 * Hostile HTTP requests for the relay, generated with fast-check and sent over raw TCP
 * sockets, so nothing between the generator and the relay's HTTP parser tidies them up:
 * unescaped and unicode paths, bad percent-encoding, lying Content-Length headers and
 * truncated bodies go out byte for byte.
 *
 * Every generated request is invalid by construction for anything that stores: a deposit
 * carries an envelope that cannot decode (cut or extended by at least one byte), or is for
 * an unknown user, or is sent with a wrong content type; a directory write carries a
 * bundle whose signature cannot verify. So the relay must store nothing at all.
 */
import { connect } from "node:net";
import fc from "fast-check";
import { base64url } from "../../protocol/bytes.js";
import { Header } from "../../protocol/relay-api.js";

export interface RawRequest {
  method: string;
  /** The request target exactly as sent. */
  target: string;
  headers: [string, string][];
  body: Buffer;
  /** Send only this many body bytes, then close the sending side. */
  truncateAt?: number;
  /** What the generator meant to test (for the failure report). */
  kind: string;
}

export interface RawResponse {
  /** undefined when the relay closed the connection without an answer. */
  status?: number;
  head: string;
}

/** What the generators build on: real users, bundles and envelopes, then broken. */
export interface Material {
  /** Registered names. */
  names: string[];
  /** A valid, registered bundle (sent only broken, or for the wrong name). */
  bundle: Uint8Array;
  /** A valid envelope (sent only broken, or where it cannot be stored). */
  envelope: Uint8Array;
  /** Auth headers validly signed for GET /v1/inbox by a registered user. */
  signed: Record<string, string>;
}

const str = (s: string) => Buffer.from(s, "utf8");
const b64 = (b: Uint8Array) => base64url.encode(b);

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
      socket.write(Buffer.from(lines.join("\r\n"), "utf8"));
      // A cut body ends the connection (the relay sees EOF mid-body). A whole request
      // keeps it open until the answer: Node's HTTP server aborts requests in flight
      // when the client half-closes, so ending early would cut off slow answers.
      if (r.truncateAt !== undefined) socket.end(r.body.subarray(0, r.truncateAt));
      else socket.write(r.body);
    });
  });
}

const JSON_TYPE: [string, string][] = [["content-type", "application/json"]];

/** A body in chunked transfer encoding, in 64 KiB chunks. */
function chunked(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0; o < body.length; o += 65_536) {
    const c = body.subarray(o, o + 65_536);
    parts.push(str(`${c.length.toString(16)}\r\n`), c, str("\r\n"));
  }
  parts.push(str("0\r\n\r\n"));
  return Buffer.concat(parts);
}
const withLength = (h: [string, string][], body: Buffer): [string, string][] => [
  ...h,
  ["content-length", String(body.length)],
];

/** A request with a correct Content-Length. */
function req(kind: string, method: string, target: string, body: Buffer, h: [string, string][]) {
  return { kind, method, target, body, headers: withLength(h, body) } satisfies RawRequest;
}

const junkString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.constantFrom("", "../", "..%2f", "%2e%2e", "%", "%zz", "%00", "\u202e", "😀", "a".repeat(300)),
);
const number = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(-1, -0, 1e308, -1e308, 2 ** 53, 2 ** 64, Number.MAX_SAFE_INTEGER + 2),
);
/** Any JSON value, including wrong types in the right places. */
const jsonish = fc.oneof(fc.jsonValue({ maxDepth: 3 }), number, junkString);
const badBase64 = fc.oneof(
  junkString,
  fc.constantFrom("====", "AAA=", "A", "+/+/", "AAAA AAAA", "AA\nAA", "AB", "ABC"),
);

export function hostileRequests(m: Material): fc.Arbitrary<RawRequest> {
  const name = fc.constantFrom(...m.names);
  const env = b64(m.envelope);
  /** The envelope cut short or extended: its length fields no longer match. */
  const brokenEnvelope = fc.oneof(
    fc.integer({ min: 1, max: m.envelope.length }).map((k) => m.envelope.subarray(0, -k)),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((x) => Buffer.concat([m.envelope, x])),
  );
  /** The bundle with one byte changed: its signature cannot verify. */
  const brokenBundle = fc
    .tuple(fc.nat(m.bundle.length - 1), fc.integer({ min: 1, max: 255 }))
    .map(([i, x]) => {
      const b = Uint8Array.from(m.bundle);
      b[i]! ^= x;
      return b;
    });
  const depositBody = fc.oneof(
    jsonish.map((v) => JSON.stringify(v) ?? "null"),
    fc.record({ to: jsonish, envelope: jsonish }).map((v) => JSON.stringify(v)),
    fc.tuple(name, badBase64).map(([to, e]) => JSON.stringify({ to, envelope: e })),
    fc.tuple(name, brokenEnvelope).map(([to, e]) => JSON.stringify({ to, envelope: b64(e) })),
    junkString.map((to) => JSON.stringify({ to: `${to}x!`, envelope: env })), // no such user
    fc.constantFrom(
      `{"to":"${m.names[0]}","envelope":`,
      `{"__proto__":{"to":"${m.names[0]}"},"envelope":"${env}"}`,
      `${"[".repeat(5000)}${"]".repeat(5000)}`,
      '{"to":"\\ud800","envelope":""}',
    ),
  );
  const deposits = fc.oneof(
    depositBody.map((b) => req("deposit: bad body", "POST", "/v1/messages", str(b), JSON_TYPE)),
    fc
      .tuple(
        name,
        fc.constantFrom(
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/jsonp",
          "application/json-patch+json",
          "",
        ),
      )
      .map(([to, type]) =>
        req(
          "deposit: wrong content type",
          "POST",
          "/v1/messages",
          str(JSON.stringify({ to, envelope: env })),
          type ? [["content-type", type]] : [],
        ),
      ),
    fc
      .uint8Array({ minLength: 1, maxLength: 200 })
      .map((b) =>
        req(
          "deposit: invalid UTF-8",
          "POST",
          "/v1/messages",
          Buffer.concat([Buffer.from([0xff, 0xfe]), b]),
          JSON_TYPE,
        ),
      ),
    fc.tuple(name, fc.integer({ min: 1, max: 100 })).map(([to, cut]) => {
      const body = str(JSON.stringify({ to, envelope: env }));
      return {
        ...req("deposit: truncated body", "POST", "/v1/messages", body, JSON_TYPE),
        truncateAt: Math.max(0, body.length - cut),
      };
    }),
  );
  const directory = fc.oneof(
    fc
      .tuple(name, brokenBundle)
      .map(([n, b]) =>
        req(
          "register: bad signature",
          "PUT",
          `/v1/directory/${n}`,
          str(JSON.stringify({ bundle: b64(b) })),
          JSON_TYPE,
        ),
      ),
    fc
      .tuple(
        fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom(..."abcxyz019") }),
        fc.constant(m.bundle),
      )
      .map(([n, b]) =>
        req(
          "register: bundle for another name",
          "PUT",
          `/v1/directory/zz${n}`,
          str(JSON.stringify({ bundle: b64(b) })),
          JSON_TYPE,
        ),
      ),
    fc
      .tuple(junkString, jsonish)
      .map(([n, v]) =>
        req(
          "register: junk",
          "PUT",
          `/v1/directory/${encodeURIComponent(n)}`,
          str(JSON.stringify({ bundle: v })),
          JSON_TYPE,
        ),
      ),
  );
  const authVariants = fc.oneof(
    fc.constant<Record<string, string>>({}),
    fc
      .tuple(
        fc.constantFrom(...Object.values(Header)),
        junkString.map((v) => v.replace(/[\r\n]/g, "")),
      )
      .map(([h, v]) => ({ ...m.signed, [h]: v })),
    number.map((t) => ({ ...m.signed, [Header.time]: String(t) })),
    fc.constant({ ...m.signed, [Header.time]: "99999999999999999999" }),
    fc.constant({ ...m.signed, [Header.user]: "nobody" }),
  );
  const inbox = fc.oneof(
    fc
      .tuple(
        authVariants,
        fc.constantFrom(
          "",
          "?limit=-1",
          "?limit=0",
          "?limit=1e3",
          "?limit=99999999999999999999",
          "?since=-5",
          "?since=NaN",
          "?limit=1&limit=2",
        ),
      )
      .map(([h, q]) =>
        req("inbox: bad auth", "GET", `/v1/inbox${q}`, Buffer.alloc(0), Object.entries(h)),
      ),
    fc
      .tuple(authVariants, jsonish)
      .map(([h, v]) =>
        req("ack: bad auth", "POST", "/v1/inbox/ack", str(JSON.stringify({ ids: v })), [
          ...JSON_TYPE,
          ...Object.entries(h),
        ]),
      ),
    authVariants.map((h) =>
      req("events: bad auth", "GET", "/v1/inbox/events", Buffer.alloc(0), Object.entries(h)),
    ),
    // Signed for GET /v1/inbox, replayed elsewhere: the path is part of what is signed.
    fc
      .constantFrom("/v1/inbox/ack", "/v1/inbox?limit=1", "/v1//inbox", "/v1/inbox/")
      .map((t) =>
        req(
          "inbox: signature for another path",
          "GET",
          t,
          Buffer.alloc(0),
          Object.entries(m.signed),
        ),
      ),
  );
  const paths = fc.oneof(
    fc.constantFrom(
      "/v1/../v1/inbox",
      "/v1/%2e%2e/healthz",
      "//v1//messages",
      "/v1/messages/../directory/x",
      "/v1/directory/..%2f..%2fetc%2fpasswd",
      "/v1/directory/%00",
      "/v1/directory/%",
      "/v1/directory/%zz",
      "/v1/directory/%F0%9F%98%80",
      "/v1/directory/ünïcødé",
      "/v1/directory/\u202eevil",
      "/%2e%2e/%2e%2e/etc/passwd",
      "*",
      "http://evil.example/v1/info",
      "/v1/info?%",
      "/v1/directory/a/b/c",
      "/metrics/../v1/info",
      "/v1/inbox%2fack",
    ),
    fc.integer({ min: 1, max: 20 }).map((n) => `/v1/${"a/".repeat(n * 400)}`),
    fc
      .string({ unit: "grapheme", minLength: 1, maxLength: 30 })
      .map((s) => `/v1/directory/${s.replace(/[\s]/g, "_")}`),
  );
  const routes = fc
    .tuple(
      paths,
      fc.constantFrom(
        "GET",
        "POST",
        "PUT",
        "DELETE",
        "PATCH",
        "OPTIONS",
        "HEAD",
        "TRACE",
        "GEt",
        "M-SEARCH",
      ),
    )
    .map(([t, method]) =>
      req(
        "path trick",
        method,
        t,
        method === "GET" || method === "HEAD" ? Buffer.alloc(0) : str("{}"),
        JSON_TYPE,
      ),
    );
  // Rare: these are 1.5 MB each. One says so up front, one streams it in chunks.
  const oversized = fc.boolean().map((upFront) => {
    const body = Buffer.alloc(1_500_000, 0x41);
    if (upFront) return req("oversized body", "POST", "/v1/messages", body, JSON_TYPE);
    return {
      kind: "oversized chunked body",
      method: "POST",
      target: "/v1/messages",
      body: chunked(body),
      headers: [...JSON_TYPE, ["transfer-encoding", "chunked"] as [string, string]],
    } satisfies RawRequest;
  });
  const lyingLength = fc.tuple(name, fc.integer({ min: 1, max: 1000 })).map(([to, extra]) => {
    const body = str(JSON.stringify({ to, envelope: env }));
    return {
      ...req("lying content-length", "POST", "/v1/messages", body, JSON_TYPE),
      headers: [...JSON_TYPE, ["content-length", String(body.length + extra)] as [string, string]],
      truncateAt: body.length,
    };
  });
  /** A chunked body that stops before its last chunk. */
  const cutChunks = fc
    .tuple(fc.constantFrom("/v1/messages", "/v1/inbox/ack", "/v1/directory/alice"), fc.nat(40))
    .map(([target, cut]) => {
      const body = chunked(str(JSON.stringify({ to: m.names[0], envelope: env })));
      return {
        kind: "chunked body cut off",
        method: target === "/v1/directory/alice" ? "PUT" : "POST",
        target,
        body,
        headers: [...JSON_TYPE, ["transfer-encoding", "chunked"] as [string, string]],
        truncateAt: Math.max(0, body.length - 5 - cut),
      } satisfies RawRequest;
    });
  const cutOff = fc.oneof(lyingLength, cutChunks);
  return fc.oneof(
    { arbitrary: deposits, weight: 30 },
    { arbitrary: directory, weight: 15 },
    { arbitrary: inbox, weight: 25 },
    { arbitrary: routes, weight: 20 },
    { arbitrary: cutOff, weight: 5 },
    { arbitrary: oversized, weight: 1 },
  );
}
