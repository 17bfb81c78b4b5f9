/**
 * Attacks on the relay (issue 3): reading or acknowledging another user's inbox, taking
 * over a name, replayed and stale requests, forged relay signatures and proofs, oversize
 * bodies, quotas and rate limits, and 1,000 malformed requests after which the relay is
 * healthy and has stored nothing.
 */
import { EventEmitter } from "node:events";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeBundle } from "../../protocol/bundle.js";
import { base64url, randomBytes } from "../../protocol/bytes.js";
import { sha256 } from "../../protocol/kdf.js";
import * as merkle from "../../protocol/merkle.js";
import {
  Context,
  DirectoryResponse,
  ErrorResponse,
  entryBody,
  Header,
  InboxResponse,
  MAX_REQUEST_SKEW_MS,
} from "../../protocol/relay-api.js";
import { ed25519, verifyHybrid } from "../../protocol/sign.js";
import { AnswersInFlight } from "../../relay/answers.js";
import { RelaySigner } from "../../relay/signer.js";
import {
  checkpointVerifies,
  deposit,
  envelopeFor,
  expectError,
  infoRelayKey,
  jsonRequest,
  makeRelay,
  makeUser,
  RELAY_URL,
  rebundle,
  register,
  relayWithUsers as relayWith,
  signedRequest,
  signHeaders,
  type TestUser,
} from "./helpers.js";

let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  [alice, bob] = await Promise.all([makeUser("alice"), makeUser("bob")]);
});

async function inbox(res: Response | Promise<Response>) {
  const r = await res;
  expect(r.status).toBe(200);
  return InboxResponse.parse(await r.json());
}

describe("signed inbox requests", () => {
  it("refuses unsigned and malformed auth with 401 UNAUTHORIZED", async () => {
    const { app } = await relayWith([alice, bob]);
    await expectError(app.request("/v1/inbox"), 401, "UNAUTHORIZED");
    await expectError(
      app.request("/v1/inbox/ack", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"ids":[]}',
      }),
      401,
      "UNAUTHORIZED",
    );
    const relayKey = await infoRelayKey(app);
    const good = await signHeaders(alice, { method: "GET", path: "/v1/inbox", relayKey });
    const variants: Record<string, string>[] = [
      { ...good, [Header.time]: "soon" },
      { ...good, [Header.time]: "-1" },
      { ...good, [Header.nonce]: "AAAA" },
      { ...good, [Header.nonce]: "!!" },
      { ...good, [Header.signature]: "AAAA" },
      { ...good, [Header.user]: "nobody" }, // unknown user
    ];
    for (const headers of variants)
      await expectError(app.request("/v1/inbox", { headers }), 401, "UNAUTHORIZED");
    for (const h of Object.values(Header)) {
      const { [h]: _, ...headers } = good;
      expect((await app.request("/v1/inbox", { headers })).status).toBe(401);
    }
    // None of those burned the nonce: the untouched request still works.
    expect((await app.request("/v1/inbox", { headers: good })).status).toBe(200);
  });

  it("alice cannot read bob's inbox by claiming to be bob", async () => {
    const { app } = await relayWith([alice, bob]);
    expect((await deposit(app, "bob", await envelopeFor(alice, bob, "for bob"))).status).toBe(201);
    // Signs as "bob" with her own key.
    await expectError(
      signedRequest(app, alice, "GET", "/v1/inbox", undefined, { as: "bob" }),
      401,
      "BAD_SIGNATURE",
    );
    // Her own valid headers with the user header changed.
    const relayKey = await infoRelayKey(app);
    const headers = await signHeaders(alice, { method: "GET", path: "/v1/inbox", relayKey });
    await expectError(
      app.request("/v1/inbox", { headers: { ...headers, [Header.user]: "bob" } }),
      401,
      "BAD_SIGNATURE",
    );
    await expectError(
      signedRequest(app, alice, "GET", "/v1/inbox/events", undefined, { as: "bob" }),
      401,
      "BAD_SIGNATURE",
    );
    // Her own inbox holds nothing of bob's.
    expect((await inbox(signedRequest(app, alice, "GET", "/v1/inbox"))).messages).toEqual([]);
  });

  it("acking another user's message ids deletes nothing from their mailbox", async () => {
    const { app } = await relayWith([alice, bob]);
    expect((await deposit(app, "bob", await envelopeFor(alice, bob, "keep me"))).status).toBe(201);
    const ids = (await inbox(signedRequest(app, bob, "GET", "/v1/inbox"))).messages.map(
      (m) => m.id,
    );
    expect(ids).toHaveLength(1);
    const res = await signedRequest(app, alice, "POST", "/v1/inbox/ack", { ids });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ deleted: 0 });
    await expectError(
      signedRequest(app, alice, "POST", "/v1/inbox/ack", { ids }, { as: "bob" }),
      401,
      "BAD_SIGNATURE",
    );
    expect(
      (await inbox(signedRequest(app, bob, "GET", "/v1/inbox"))).messages.map((m) => m.id),
    ).toEqual(ids);
  });

  it("a replayed request is 401 REPLAYED_REQUEST, and a forged one does not burn the nonce", async () => {
    const { app } = await relayWith([alice, bob]);
    const relayKey = await infoRelayKey(app);
    const headers = await signHeaders(alice, { method: "GET", path: "/v1/inbox", relayKey });
    expect((await app.request("/v1/inbox", { headers })).status).toBe(200);
    await expectError(app.request("/v1/inbox", { headers }), 401, "REPLAYED_REQUEST");

    // An ack replayed with the same body.
    const body = JSON.stringify({ ids: [base64url.encode(randomBytes(16))] });
    const ack = {
      ...(await signHeaders(alice, { method: "POST", path: "/v1/inbox/ack", body, relayKey })),
      "content-type": "application/json",
    };
    expect(
      (await app.request("/v1/inbox/ack", { method: "POST", headers: ack, body })).status,
    ).toBe(200);
    await expectError(
      app.request("/v1/inbox/ack", { method: "POST", headers: ack, body }),
      401,
      "REPLAYED_REQUEST",
    );

    // A forger who saw a nonce cannot use it up before its owner does.
    const nonce = randomBytes(16);
    const genuine = await signHeaders(alice, { method: "GET", path: "/v1/inbox", relayKey, nonce });
    const forged = { ...genuine, [Header.signature]: base64url.encode(randomBytes(64)) };
    await expectError(app.request("/v1/inbox", { headers: forged }), 401, "BAD_SIGNATURE");
    expect((await app.request("/v1/inbox", { headers: genuine })).status).toBe(200);
    // Nonces are per user: bob may use the same one.
    expect((await signedRequest(app, bob, "GET", "/v1/inbox", undefined, { nonce })).status).toBe(
      200,
    );
  });

  it("a request outside the clock window is 401 STALE_REQUEST", async () => {
    let clock = Date.now();
    const { app } = await relayWith([alice, bob], { now: () => clock });
    const get = (time: number) =>
      signedRequest(app, alice, "GET", "/v1/inbox", undefined, { time });
    await expectError(get(clock - MAX_REQUEST_SKEW_MS - 1), 401, "STALE_REQUEST");
    await expectError(get(clock + MAX_REQUEST_SKEW_MS + 1), 401, "STALE_REQUEST");
    await expectError(get(0), 401, "STALE_REQUEST");
    const relayKey = await infoRelayKey(app);
    const good = await signHeaders(alice, { method: "GET", path: "/v1/inbox", relayKey });
    for (const t of ["9999999999999999", "0000000000000000"])
      await expectError(
        app.request("/v1/inbox", { headers: { ...good, [Header.time]: t } }),
        401,
        "STALE_REQUEST",
      );
    expect((await get(clock - MAX_REQUEST_SKEW_MS)).status).toBe(200);
    expect((await get(clock + MAX_REQUEST_SKEW_MS)).status).toBe(200);
    // A captured request stays a replay to the last moment of its window, then goes stale:
    // the nonce is remembered for as long as the request's time is acceptable.
    const headers = await signHeaders(alice, {
      method: "GET",
      path: "/v1/inbox",
      relayKey,
      time: clock,
    });
    expect((await app.request("/v1/inbox", { headers })).status).toBe(200);
    clock += MAX_REQUEST_SKEW_MS;
    await expectError(app.request("/v1/inbox", { headers }), 401, "REPLAYED_REQUEST");
    clock += 1;
    await expectError(app.request("/v1/inbox", { headers }), 401, "STALE_REQUEST");
  });

  it("a signature bound to another relay key, or to other bytes, is refused", async () => {
    const { app } = await relayWith([alice, bob]);
    const other = (await ed25519.generate()).publicKey;
    await expectError(
      signedRequest(app, alice, "GET", "/v1/inbox", undefined, { relayKey: other }),
      401,
      "BAD_SIGNATURE",
    );
    const relayKey = await infoRelayKey(app);
    // Body tampered after signing.
    const signedBody = JSON.stringify({ ids: [base64url.encode(randomBytes(16))] });
    const sentBody = JSON.stringify({ ids: [base64url.encode(randomBytes(16))] });
    const h = await signHeaders(alice, {
      method: "POST",
      path: "/v1/inbox/ack",
      body: signedBody,
      relayKey,
    });
    await expectError(
      app.request("/v1/inbox/ack", {
        method: "POST",
        headers: { ...h, "content-type": "application/json" },
        body: sentBody,
      }),
      401,
      "BAD_SIGNATURE",
    );
    // Query tampered after signing.
    const q = await signHeaders(alice, { method: "GET", path: "/v1/inbox?limit=1", relayKey });
    await expectError(app.request("/v1/inbox?limit=2", { headers: q }), 401, "BAD_SIGNATURE");
    // Path: a signature for the event stream does not open the inbox.
    const e = await signHeaders(alice, { method: "GET", path: "/v1/inbox/events", relayKey });
    await expectError(app.request("/v1/inbox", { headers: e }), 401, "BAD_SIGNATURE");
    // Method.
    const m = await signHeaders(alice, { method: "POST", path: "/v1/inbox", relayKey });
    await expectError(app.request("/v1/inbox", { headers: m }), 401, "BAD_SIGNATURE");
  });
});

describe("the directory", () => {
  it("a name cannot be taken over by another identity, even with a newer bundle", async () => {
    const { app, store } = await relayWith([alice, bob]);
    const mallory = await makeUser("alice");
    const newer = await rebundle(mallory, { created: Date.now() + 60_000 });
    await expectError(register(app, "alice", mallory.bundle), 409, "NAME_TAKEN");
    await expectError(register(app, "alice", newer), 409, "NAME_TAKEN");
    // Nor by pairing alice's identity key with mallory's signature.
    const spliced = await rebundle(mallory, {
      identityKey: (await store.getEntry("alice"))!.identityKey,
    });
    await expectError(register(app, "alice", spliced), 400, "BAD_BUNDLE");
    const r = DirectoryResponse.parse(await (await app.request("/v1/directory/alice")).json());
    expect(base64url.decode(r.bundle)).toEqual(alice.bundle);
  });

  it("a forged relay signature or inclusion proof does not verify", async () => {
    const { app, signer } = await relayWith([alice, bob]);
    const r = DirectoryResponse.parse(await (await app.request("/v1/directory/bob")).json());
    const body = entryBody({ name: "bob", bundleHash: sha256(bob.bundle), at: r.at });
    const impostor = await RelaySigner.generate();
    const forged = await impostor.signEntry(body);
    expect(await verifyHybrid(signer.hybridPublic, Context.directory, body, forged)).toBe(false);
    expect(
      await checkpointVerifies(signer.hybridPublic, {
        ...r.checkpoint,
        size: r.checkpoint.size + 1,
      }),
    ).toBe(false);
    const root = base64url.decode(r.checkpoint.root);
    const proof = r.proof.map(base64url.decode);
    const leaf = merkle.leafHash(body);
    expect(merkle.verifyInclusion(leaf, r.index, r.checkpoint.size, proof, root)).toBe(true);
    const bent = proof.map((p) => p.slice());
    bent[0]![0]! ^= 1;
    expect(merkle.verifyInclusion(leaf, r.index, r.checkpoint.size, bent, root)).toBe(false);
    expect(merkle.verifyInclusion(leaf, r.index ^ 1, r.checkpoint.size, proof, root)).toBe(false);
    expect(merkle.verifyInclusion(leaf, r.index, r.checkpoint.size, [], root)).toBe(false);
  });
});

describe("size limits, quotas and rate limits", () => {
  it("an envelope over maxEnvelopeBytes is 413 TOO_LARGE; one at the limit is stored", async () => {
    const envelope = await envelopeFor(bob, alice, "x".repeat(100));
    const { app, store } = await relayWith([alice, bob], {
      config: { maxEnvelopeBytes: envelope.length - 1 },
    });
    await expectError(deposit(app, "alice", envelope), 413, "TOO_LARGE");
    expect(await store.logSize()).toBe(2);
    const atLimit = await relayWith([alice, bob], {
      config: { maxEnvelopeBytes: envelope.length },
    });
    expect((await deposit(atLimit.app, "alice", envelope)).status).toBe(201);
  });

  it("a body over the limit is 413 TOO_LARGE on every route, with or without content-length", async () => {
    const { app, store } = await relayWith([alice, bob], { config: { maxEnvelopeBytes: 8000 } });
    const huge = JSON.stringify({ to: "alice", envelope: "A".repeat(20_000) });
    await expectError(jsonRequest(app, "POST", "/v1/messages", huge), 413, "TOO_LARGE");
    await expectError(
      jsonRequest(app, "POST", "/v1/messages", huge, { "content-length": String(huge.length) }),
      413,
      "TOO_LARGE",
    );
    await expectError(
      jsonRequest(app, "PUT", "/v1/directory/carol", { bundle: "A".repeat(20_000) }),
      413,
      "TOO_LARGE",
    );
    await expectError(signedRequest(app, alice, "POST", "/v1/inbox/ack", huge), 413, "TOO_LARGE");
    expect(await store.logSize()).toBe(2);
    expect((await app.request("/healthz")).status).toBe(200);
  });

  it("a full mailbox is 429 MAILBOX_FULL until its owner acks", async () => {
    const { app, store } = await relayWith([alice, bob], { config: { mailboxQuota: 2 } });
    const [e1, e2, e3] = [
      await envelopeFor(bob, alice, "1"),
      await envelopeFor(bob, alice, "2"),
      await envelopeFor(bob, alice, "3"),
    ];
    expect((await deposit(app, "alice", e1!)).status).toBe(201);
    expect((await deposit(app, "alice", e2!)).status).toBe(201);
    const size = await store.logSize();
    await expectError(deposit(app, "alice", e3!), 429, "MAILBOX_FULL");
    expect(await store.logSize()).toBe(size);
    // A retry of a stored message is still answered; other mailboxes are unaffected.
    expect((await deposit(app, "alice", e1!)).status).toBe(200);
    expect((await deposit(app, "bob", await envelopeFor(alice, bob))).status).toBe(201);
    const first = (await inbox(signedRequest(app, alice, "GET", "/v1/inbox?limit=1"))).messages[0]!;
    const ack = await signedRequest(app, alice, "POST", "/v1/inbox/ack", { ids: [first.id] });
    expect(await ack.json()).toEqual({ deleted: 1 });
    expect((await deposit(app, "alice", e3!)).status).toBe(201);
  });

  it("an inbox answer stops at maxInboxBytes of envelopes, the first always; the rest come after an ack", async () => {
    const [e1, e2, e3] = [
      await envelopeFor(bob, alice, "1"),
      await envelopeFor(bob, alice, "2"),
      await envelopeFor(bob, alice, "3"),
    ];
    const { app } = await relayWith([alice, bob], {
      config: { maxInboxBytes: e1!.length + e2!.length },
    });
    for (const e of [e1!, e2!, e3!]) expect((await deposit(app, "alice", e)).status).toBe(201);
    const page = async () => (await inbox(signedRequest(app, alice, "GET", "/v1/inbox"))).messages;
    const first = await page();
    expect(first.map((m) => m.envelope)).toEqual([e1!, e2!].map(base64url.encode));
    const ack = await signedRequest(app, alice, "POST", "/v1/inbox/ack", {
      ids: first.map((m) => m.id),
    });
    expect(await ack.json()).toEqual({ deleted: 2 });
    expect((await page()).map((m) => m.envelope)).toEqual([base64url.encode(e3!)]);
    // A budget below one envelope still returns one message per answer.
    const tiny = await relayWith([alice, bob], { config: { maxInboxBytes: 1 } });
    for (const e of [e1!, e2!]) expect((await deposit(tiny.app, "alice", e)).status).toBe(201);
    const one = await inbox(signedRequest(tiny.app, alice, "GET", "/v1/inbox"));
    expect(one.messages.map((m) => m.envelope)).toEqual([base64url.encode(e1!)]);
  });

  it("the inbox answers on their way to a user, and to all, hold bounded bytes", async () => {
    // Through Node's server an answer is held until its response closes; a stand-in for
    // that response (its "close") decides here when each answer is read.
    const limits = { perUserBytes: Number.MAX_SAFE_INTEGER, maxBytes: Number.MAX_SAFE_INTEGER };
    const answers = new AnswersInFlight(limits);
    const { app } = await relayWith([alice, bob], { answers });
    expect((await deposit(app, "alice", await envelopeFor(bob, alice, "a"))).status).toBe(201);
    expect((await deposit(app, "bob", await envelopeFor(alice, bob, "b"))).status).toBe(201);
    const relayKey = await infoRelayKey(app);
    const get = async (u: TestUser, outgoing?: EventEmitter) => {
      const headers = await signHeaders(u, { method: "GET", path: "/v1/inbox", relayKey });
      return app.request("/v1/inbox", { headers }, outgoing ? { outgoing } : undefined);
    };
    // One answer's size, from a fetch that is not held.
    const size = (await (await get(alice)).arrayBuffer()).byteLength;
    expect(answers.bytes).toBe(0);
    limits.perUserBytes = Math.floor(2.5 * size);
    limits.maxBytes = Math.floor(3.5 * size);

    const [a1, a2, a3, b1, b2, b3] = Array.from({ length: 6 }, () => new EventEmitter());
    expect((await get(alice, a1)).status).toBe(200);
    expect((await get(alice, a2)).status).toBe(200);
    // A third answer to alice would pass her 2.5 answers' worth.
    await expectError(get(alice, a3), 429, "RATE_LIMITED");
    a3!.emit("close");
    expect((await get(bob, b1)).status).toBe(200);
    // A fourth answer in all would pass the relay's 3.5.
    await expectError(get(bob, b2), 503, "UNAVAILABLE");
    b2!.emit("close");
    a1!.emit("close"); // alice has read one
    expect((await get(bob, b3)).status).toBe(200);
    expect(answers.bytes).toBeGreaterThan(2 * size);
    for (const o of [a2, b1, b3]) o!.emit("close");
    expect(answers.bytes).toBe(0);
    const last = new EventEmitter();
    expect((await get(alice, last)).status).toBe(200);
    last.emit("close");
    expect(answers.bytes).toBe(0);

    // A pipelined answer queued behind another never closes: its connection's close
    // gives its room back, and a response's close later gives nothing twice.
    const socket = new EventEmitter();
    const queued = new EventEmitter();
    const headers = await signHeaders(alice, { method: "GET", path: "/v1/inbox", relayKey });
    const res = await app.request(
      "/v1/inbox",
      { headers },
      { outgoing: queued, incoming: { socket } },
    );
    expect(res.status).toBe(200);
    expect(answers.bytes).toBeGreaterThan(0);
    socket.emit("close");
    expect(answers.bytes).toBe(0);
    queued.emit("close");
    expect(answers.bytes).toBe(0);
    expect(socket.listenerCount("close") + queued.listenerCount("close")).toBe(0);
  });

  it("an answer slot released before its answer was built holds nothing", () => {
    // The connection went while the relay was reading and proving: nothing will be sent.
    const answers = new AnswersInFlight({ perUserBytes: 10, maxBytes: 10 });
    const slot = answers.enter("alice")!;
    slot.release();
    expect(slot.hold(8)).toBe("ok");
    expect(answers.bytes).toBe(0);
    slot.release();
    const next = answers.enter("alice")!;
    expect(next.hold(10)).toBe("ok");
    expect(answers.enter("alice")).toBeUndefined();
    next.release();
    next.release();
    expect(answers.bytes).toBe(0);
  });

  it("writes over the per-IP rate limit are 429 RATE_LIMITED until the window passes", async () => {
    let clock = Math.floor(Date.now() / 60_000) * 60_000; // the start of a window
    // Registering the two users takes two of the four writes.
    const { app } = await relayWith([alice, bob], {
      now: () => clock,
      config: { rateLimit: { windowMs: 60_000, limit: 4 } },
    });
    expect((await deposit(app, "alice", await envelopeFor(bob, alice, "1"))).status).toBe(201);
    expect((await deposit(app, "alice", await envelopeFor(bob, alice, "2"))).status).toBe(201);
    const envelope = await envelopeFor(bob, alice, "3");
    await expectError(deposit(app, "alice", envelope), 429, "RATE_LIMITED");
    await expectError(register(app, "carol", alice.bundle), 429, "RATE_LIMITED");
    // X-Forwarded-For is not trusted unless configured.
    await expectError(
      jsonRequest(
        app,
        "POST",
        "/v1/messages",
        { to: "alice", envelope: base64url.encode(envelope) },
        { "x-forwarded-for": "203.0.113.9" },
      ),
      429,
      "RATE_LIMITED",
    );
    // Reads are not limited.
    expect((await app.request("/v1/directory/alice")).status).toBe(200);
    clock += 60_000;
    expect((await deposit(app, "alice", envelope)).status).toBe(201);
  });

  it("behind a trusted proxy, the limit is per client, and a forged X-Forwarded-For does not evade it", async () => {
    const { app } = await relayWith([alice, bob], {
      config: { trustProxy: true, rateLimit: { windowMs: 60_000, limit: 2 } },
    });
    // The proxy appends the address it saw; whatever the client sent comes before it.
    const send = async (xff: string) =>
      jsonRequest(
        app,
        "POST",
        "/v1/messages",
        { to: "alice", envelope: base64url.encode(await envelopeFor(bob, alice)) },
        { "x-forwarded-for": xff },
      );
    expect((await send("198.51.100.1, 203.0.113.1")).status).toBe(201);
    expect((await send("198.51.100.2, 203.0.113.1")).status).toBe(201);
    await expectError(send("198.51.100.3, 203.0.113.1"), 429, "RATE_LIMITED");
    await expectError(send("203.0.113.1"), 429, "RATE_LIMITED");
    expect((await send("203.0.113.2")).status).toBe(201);
  });
});

// --- 1,000 malformed requests ----------------------------------------------------------

const NAMES = ["alice", "bob", "a", "x.y-z_0", "carol"];
const b64 = (b: Uint8Array) => base64url.encode(b);

/** Bytes that get past the first structure checks: right version and type bytes. */
const almostEnvelope = fc
  .tuple(fc.constantFrom(1, 2, 3, 0, 255), fc.uint8Array({ maxLength: 1400 }))
  .map(([type, rest]) => Uint8Array.of(1, type, ...rest));

/** A well-formed bundle with a random key and signature. */
const forgedBundle = fc
  .record({
    name: fc.constantFrom(...NAMES),
    created: fc.nat(),
    life: fc.nat(),
    identityKey: fc.uint8Array({ minLength: 1984, maxLength: 1984 }),
    prekey: fc.uint8Array({ minLength: 1216, maxLength: 1216 }),
    signature: fc.uint8Array({ minLength: 3373, maxLength: 3373 }),
  })
  .map(({ life, ...b }) =>
    encodeBundle({ ...b, relay: RELAY_URL, prekeyId: 1, prekeyExpires: b.created + life }),
  );

const base64ish = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map(b64),
  almostEnvelope.map(b64),
  forgedBundle.map(b64),
  fc.string(),
  fc.constantFrom("", "A", "AB", "====", "AAAA==", "a+b/", "\u0000", "%00", "A".repeat(10_001)),
);

const scalar = fc.oneof(
  base64ish,
  fc.integer(),
  fc.double(),
  fc.constantFrom(1e308, -0, Number.MAX_SAFE_INTEGER + 2, null, true, [], {}),
);

const jsonBody = fc.oneof(
  // The right shape with bad contents: these reach the bundle and envelope decoders.
  { weight: 2, arbitrary: fc.record({ bundle: base64ish }) },
  { weight: 2, arbitrary: fc.record({ to: fc.constantFrom(...NAMES), envelope: base64ish }) },
  { weight: 1, arbitrary: fc.record({ ids: fc.array(base64ish, { maxLength: 4 }) }) },
  // Wrong shapes.
  fc.record({ bundle: scalar }, { requiredKeys: [] }),
  fc.record(
    { to: fc.oneof(fc.constantFrom(...NAMES), fc.string()), envelope: scalar },
    { requiredKeys: [] },
  ),
  fc.record({ ids: fc.oneof(fc.array(scalar, { maxLength: 4 }), scalar) }, { requiredKeys: [] }),
  fc.jsonValue(),
);

const rawBody = fc.oneof(
  jsonBody.map((v) => JSON.stringify(v) ?? "null"),
  fc.string(),
  fc.uint8Array({ maxLength: 256 }),
  fc.constantFrom(
    "{",
    '{"bundle":',
    "9".repeat(400),
    "1e999999",
    "[".repeat(5000),
    `{"to":"alice","envelope":"${"A".repeat(2_000_000)}"}`,
    "\uFEFF{}",
    '{"__proto__":{"bundle":"AAAA"}}',
  ),
);

const segment = fc.oneof(
  fc.constantFrom(
    ...NAMES,
    "..%2f..",
    "%00",
    "%2e%2e",
    "..",
    "%zz",
    "%",
    "%C0%AE",
    "%F0%9F%98%80",
    "A".repeat(300),
    "alice%2fbob",
  ),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
);

/** Random paths under /v1, including traversal and encoding tricks. */
const anyPath = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(
        "directory",
        "messages",
        "inbox",
        "inbox/ack",
        "inbox/events",
        "info",
        "",
        "directory/",
        "inbox/",
      ),
      fc.option(segment, { nil: undefined }),
      fc.constantFrom(
        "",
        "?limit=0",
        "?limit=99999999999999999999",
        "?since=-1",
        "?limit=1&limit=2",
        "?%zz",
        "#x",
      ),
    )
    .map(([base, seg, query]) => `/v1/${base}${seg === undefined ? "" : `/${seg}`}${query}`),
  fc.constantFrom(
    "/v1/directory/..%2f..",
    "/v1/directory/%00",
    "/v1//directory/alice",
    "/v1/inbox/../directory/alice",
    "/v1/./messages",
    "/v1/%2e%2e/healthz",
    "/v1/directory/alice/bundle",
    "/v1/messages/",
    "/v1\\directory\\alice",
  ),
);

/** Mostly a real route with the right method, so most requests reach the handlers. */
const target = fc.oneof(
  { weight: 3, arbitrary: segment.map((seg) => ({ method: "PUT", path: `/v1/directory/${seg}` })) },
  { weight: 3, arbitrary: fc.constant({ method: "POST", path: "/v1/messages" }) },
  { weight: 1, arbitrary: fc.constant({ method: "POST", path: "/v1/inbox/ack" }) },
  { weight: 1, arbitrary: segment.map((seg) => ({ method: "GET", path: `/v1/directory/${seg}` })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("", "?limit=0", "?limit=abc", "?since=1", "/events")
      .map((q) => ({ method: "GET", path: `/v1/inbox${q}` })),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      method: fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
      path: anyPath,
    }),
  },
);

const printable = fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, "?"));

const authHeaders = fc.option(
  fc.record(
    {
      [Header.user]: fc.oneof(fc.constantFrom(...NAMES), printable),
      [Header.time]: fc.oneof(fc.constant("now"), fc.nat().map(String), printable),
      [Header.nonce]: fc.oneof(fc.uint8Array({ minLength: 16, maxLength: 16 }).map(b64), printable),
      [Header.signature]: fc.oneof(
        fc.uint8Array({ minLength: 64, maxLength: 64 }).map(b64),
        printable,
      ),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);

const request = fc.record({
  target,
  contentType: fc.oneof(
    { weight: 4, arbitrary: fc.constant("application/json") },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        undefined,
        "application/json; charset=utf-8",
        "APPLICATION/JSON",
        "text/plain",
        "application/jsonx",
        "multipart/form-data; boundary=x",
      ),
    },
  ),
  body: fc.oneof(
    { weight: 3, arbitrary: jsonBody.map((v) => JSON.stringify(v) ?? "null") },
    rawBody,
  ),
  auth: authHeaders,
});

describe("malformed requests", () => {
  it("1,000 of them: no 5xx, a JSON error for each, then healthy with nothing stored", async () => {
    const { app, store } = await makeRelay({
      // High enough that every request reaches validation.
      config: { rateLimit: { windowMs: 60_000, limit: 1_000_000 } },
    });
    const statuses = new Map<number, number>();
    const codes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = {};
        if (r.contentType) headers["content-type"] = r.contentType;
        for (const [k, v] of Object.entries(r.auth ?? {}))
          headers[k] = k === Header.time && v === "now" ? String(Date.now()) : v;
        const { method, path } = r.target;
        const withBody = method !== "GET" && method !== "HEAD";
        const res = await app.request(path, {
          method,
          headers,
          ...(withBody ? { body: r.body } : {}),
        });
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status).toBeLessThan(500);
        if (method !== "HEAD" && res.status >= 400) {
          const { error } = ErrorResponse.parse(await res.json());
          codes.set(error.code, (codes.get(error.code) ?? 0) + 1);
        } else await res.body?.cancel();
      }),
      { numRuns: 1000, seed: 20250101 },
    );
    // The corpus reached the deep checks, not only the router.
    const deep = [
      "BAD_BUNDLE",
      "BAD_ENVELOPE",
      "UNKNOWN_USER",
      "BAD_JSON",
      "BAD_REQUEST",
      "TOO_LARGE",
      "UNAUTHORIZED",
      "UNSUPPORTED_MEDIA_TYPE",
      "NOT_FOUND",
    ];
    for (const code of deep) expect(codes.get(code), code).toBeGreaterThan(0);
    // Only reads may succeed (GET /v1/info); nothing was created.
    expect([...statuses.keys()].filter((s) => s < 400 && s !== 200)).toEqual([]);
    expect((await app.request("/healthz")).status).toBe(200);
    expect(await store.logSize()).toBe(0);
    expect(await store.latestCheckpoint()).toBeUndefined();
    for (const name of NAMES) expect(await store.getEntry(name)).toBeUndefined();
    expect((await app.request("/v1/directory/alice")).status).toBe(404);
  });
});
