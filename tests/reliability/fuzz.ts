/**
 * Hostile requests for the relay, generated with fast-check and sent raw (raw-http.ts):
 * malformed JSON, wrong types, huge and negative numbers, bad base64, invalid UTF-8,
 * wrong content types, path tricks, bad auth headers, bodies cut off or lying about their
 * length, and oversized bodies.
 *
 * Every generated request is invalid by construction for anything that stores: a deposit
 * carries an envelope that cannot decode (cut inside its header, or of an unsupported
 * version or type), or is for an unknown user, or is sent with a wrong content type; a
 * directory write carries a bundle whose signature cannot verify, or that names another
 * user. So the relay must store nothing at all, and any 2xx to a write is a failure.
 */
import fc from "fast-check";
import { base64url } from "../../protocol/bytes.js";
import { Header } from "../../protocol/relay-api.js";
import {
  MAX_VERSION,
  MIN_VERSION,
  TYPE_PREKEY_MESSAGE,
  TYPE_SESSION_MESSAGE,
} from "../../protocol/version.js";
import {
  chunked,
  JSON_TYPE,
  jsonRequest,
  type RawRequest,
  request,
  utf8Buffer,
} from "./raw-http.js";

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

const b64 = (b: Uint8Array) => base64url.encode(b);
const CHUNKED: [string, string][] = [...JSON_TYPE, ["transfer-encoding", "chunked"]];

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
/** Any JSON value, so wrong types land in the right places. */
const jsonish = fc.oneof(fc.jsonValue({ maxDepth: 3 }), number, junkString);
const badBase64 = fc.oneof(
  junkString,
  fc.constantFrom("====", "AAA=", "A", "+/+/", "AAAA AAAA", "AA\nAA", "AB", "ABC"),
);

function deposits(m: Material): fc.Arbitrary<RawRequest> {
  const name = fc.constantFrom(...m.names);
  const env = b64(m.envelope);
  /**
   * The envelope broken where any version of the format must notice: cut inside its
   * fixed header, or with an unsupported version or an unknown message type. (Cutting
   * or extending the ciphertext would not do: its length is implied, §6.1.)
   */
  const brokenEnvelope = fc.oneof(
    fc.nat(41).map((k) => m.envelope.subarray(0, k)),
    fc
      .integer({ min: 0, max: 255 })
      .filter((v) => v < MIN_VERSION || v > MAX_VERSION)
      .map((v) => Uint8Array.from([v, ...m.envelope.subarray(1)])),
    fc
      .integer({ min: 0, max: 255 })
      .filter((t) => t !== TYPE_PREKEY_MESSAGE && t !== TYPE_SESSION_MESSAGE)
      .map((t) => Uint8Array.from([m.envelope[0]!, t, ...m.envelope.subarray(2)])),
  );
  const body = fc.oneof(
    jsonish,
    fc.record({ to: jsonish, envelope: jsonish }),
    fc.record({ to: name, envelope: badBase64 }),
    fc.record({ to: name, envelope: brokenEnvelope.map(b64) }),
    junkString.map((to) => ({ to: `${to}x!`, envelope: env })), // no such user
    fc.constantFrom(
      `{"to":"${m.names[0]}","envelope":`,
      `{"__proto__":{"to":"${m.names[0]}"},"envelope":"${env}"}`,
      `${"[".repeat(5000)}${"]".repeat(5000)}`,
      '{"to":"\\ud800","envelope":""}',
    ),
  );
  const wrongType = fc.constantFrom(
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/jsonp",
    "application/json-patch+json",
    "",
  );
  const valid = (to: string) => utf8Buffer(JSON.stringify({ to, envelope: env }));
  return fc.oneof(
    body.map((v) => jsonRequest("deposit: bad body", "POST", "/v1/messages", v)),
    fc
      .tuple(name, wrongType)
      .map(([to, type]) =>
        request("deposit: wrong content type", "POST", "/v1/messages", valid(to), [
          ...(type ? [["content-type", type] as [string, string]] : []),
        ]),
      ),
    fc
      .uint8Array({ minLength: 1, maxLength: 200 })
      .map((b) =>
        request("deposit: invalid UTF-8", "POST", "/v1/messages", Buffer.from([0xff, 0xfe, ...b])),
      ),
    fc.tuple(name, fc.integer({ min: 1, max: 100 })).map(([to, cut]) => ({
      ...request("deposit: truncated body", "POST", "/v1/messages", valid(to)),
      truncateAt: Math.max(0, valid(to).length - cut),
    })),
  );
}

function registrations(m: Material): fc.Arbitrary<RawRequest> {
  const name = fc.constantFrom(...m.names);
  /** The bundle with one byte changed: its signature cannot verify. */
  const brokenBundle = fc
    .tuple(fc.nat(m.bundle.length - 1), fc.integer({ min: 1, max: 255 }))
    .map(([i, x]) => {
      const b = Uint8Array.from(m.bundle);
      b[i]! ^= x;
      return b;
    });
  const otherName = fc.string({
    minLength: 1,
    maxLength: 8,
    unit: fc.constantFrom(..."abcxyz019"),
  });
  return fc.oneof(
    fc
      .tuple(name, brokenBundle)
      .map(([n, b]) =>
        jsonRequest("register: bad signature", "PUT", `/v1/directory/${n}`, { bundle: b64(b) }),
      ),
    otherName.map((n) =>
      jsonRequest("register: bundle for another name", "PUT", `/v1/directory/zz${n}`, {
        bundle: b64(m.bundle),
      }),
    ),
    fc.tuple(junkString, jsonish).map(([n, v]) =>
      jsonRequest("register: junk", "PUT", `/v1/directory/${encodeURIComponent(n)}`, {
        bundle: v,
      }),
    ),
  );
}

function inboxRequests(m: Material): fc.Arbitrary<RawRequest> {
  const auth = fc.oneof(
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
  const query = fc.constantFrom(
    "",
    "?limit=-1",
    "?limit=0",
    "?limit=1e3",
    "?limit=99999999999999999999",
    "?since=-5",
    "?since=NaN",
    "?limit=1&limit=2",
  );
  const none = Buffer.alloc(0);
  return fc.oneof(
    fc
      .tuple(auth, query)
      .map(([h, q]) => request("inbox: bad auth", "GET", `/v1/inbox${q}`, none, Object.entries(h))),
    fc.tuple(auth, jsonish).map(([h, v]) => {
      const body = utf8Buffer(JSON.stringify({ ids: v }));
      return request("ack: bad auth", "POST", "/v1/inbox/ack", body, [
        ...JSON_TYPE,
        ...Object.entries(h),
      ]);
    }),
    auth.map((h) =>
      request("events: bad auth", "GET", "/v1/inbox/events", none, Object.entries(h)),
    ),
    // Signed for GET /v1/inbox, sent elsewhere: the path is part of what is signed.
    fc
      .constantFrom("/v1/inbox/ack", "/v1/inbox?limit=1", "/v1//inbox", "/v1/inbox/")
      .map((t) =>
        request("inbox: signature for another path", "GET", t, none, Object.entries(m.signed)),
      ),
  );
}

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
    .map((s) => `/v1/directory/${s.replace(/\s/g, "_")}`),
);
const methods = fc.constantFrom(
  ...["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "GEt", "M-SEARCH"],
);
const pathTricks = fc
  .tuple(paths, methods)
  .map(([t, method]) =>
    request("path trick", method, t, utf8Buffer(/^(GET|HEAD)$/.test(method) ? "" : "{}")),
  );

/** Bodies that never complete: a Content-Length larger than the body, or chunks cut short. */
function cutOff(m: Material): fc.Arbitrary<RawRequest> {
  const body = utf8Buffer(JSON.stringify({ to: m.names[0], envelope: b64(m.envelope) }));
  const lying = fc.integer({ min: 1, max: 1000 }).map((extra) => ({
    ...request("lying content-length", "POST", "/v1/messages", body),
    headers: [...JSON_TYPE, ["content-length", String(body.length + extra)] as [string, string]],
    truncateAt: body.length,
  }));
  const chunks = chunked(body);
  const cutChunks = fc
    .tuple(
      fc.constantFrom("/v1/messages", "/v1/inbox/ack", `/v1/directory/${m.names[0]}`),
      fc.nat(40),
    )
    .map(([target, cut]) => ({
      kind: "chunked body cut off",
      method: target.startsWith("/v1/directory/") ? "PUT" : "POST",
      target,
      body: chunks,
      headers: CHUNKED,
      truncateAt: Math.max(0, chunks.length - 5 - cut),
    }));
  return fc.oneof(lying, cutChunks);
}

/** 1.5 MB, above the relay's body limit: announced up front, or streamed in chunks. */
const oversized = fc.boolean().map((upFront): RawRequest => {
  const body = Buffer.alloc(1_500_000, 0x41);
  if (upFront) return request("oversized body", "POST", "/v1/messages", body);
  const kind = "oversized chunked body";
  return { kind, method: "POST", target: "/v1/messages", body: chunked(body), headers: CHUNKED };
});

export function hostileRequests(m: Material): fc.Arbitrary<RawRequest> {
  return fc.oneof(
    { arbitrary: deposits(m), weight: 30 },
    { arbitrary: registrations(m), weight: 15 },
    { arbitrary: inboxRequests(m), weight: 25 },
    { arbitrary: pathTricks, weight: 20 },
    { arbitrary: cutOff(m), weight: 5 },
    { arbitrary: oversized, weight: 1 },
  );
}
