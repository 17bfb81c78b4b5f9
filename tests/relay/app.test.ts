/**
 * Every relay route, driven in memory with app.request() (DESIGN §4, issue 3): the valid
 * path with the relay's signatures and proofs checked as a client checks them, and the
 * invalid inputs with the error code each one must get.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { base64url } from "../../protocol/bytes.js";
import { envelopeId } from "../../protocol/envelope.js";
import { sha256 } from "../../protocol/kdf.js";
import * as merkle from "../../protocol/merkle.js";
import { verifyReceipt } from "../../protocol/receipt.js";
import {
  AckResponse,
  Context,
  DepositResponse,
  DirectoryEntry,
  DirectoryResponse,
  entryBody,
  InboxResponse,
  InfoResponse,
  receiptBody,
} from "../../protocol/relay-api.js";
import { verifyHybrid } from "../../protocol/sign.js";
import { EventHub } from "../../relay/events.js";
import { StoreUnavailable } from "../../relay/storage/errors.js";
import {
  checkpointVerifies,
  deposit,
  envelopeFor,
  expectError,
  jsonRequest,
  makeRelay,
  makeUser,
  messageIncluded,
  patchedStore,
  RELAY_URL,
  rebundle,
  register,
  relayWithUsers as relayWith,
  signedRequest,
  type TestUser,
} from "./helpers.js";

let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  [alice, bob] = await Promise.all([makeUser("alice"), makeUser("bob")]);
});

describe("health, metrics and info", () => {
  it("GET /healthz is ok, and 503 UNAVAILABLE once the store is closed", async () => {
    const { app, store } = await makeRelay();
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    await store.close();
    await expectError(app.request("/healthz"), 503, "UNAVAILABLE");
    // Every other route says the same, not a 500.
    await expectError(app.request("/v1/directory/alice"), 503, "UNAVAILABLE");
  });

  it("GET /metrics serves Prometheus text with request counts", async () => {
    const { app } = await makeRelay();
    await app.request("/v1/info");
    const res = await app.request("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain("# TYPE secure_msg_relay_requests_total counter");
    expect(text).toMatch(
      /secure_msg_relay_requests_total\{method="GET",route="\/v1\/info",status="200"\} 1/,
    );
    // Errors are counted with their status, under the route pattern, not the raw path.
    await app.request("/v1/directory/nobody");
    const after = await (await app.request("/metrics")).text();
    expect(after).toMatch(
      /secure_msg_relay_requests_total\{method="GET",route="\/v1\/directory\/:name",status="404"\} 1/,
    );
    expect(after).not.toContain("nobody");
    // The same series again counts on, in the counter and in the duration histogram.
    await app.request("/v1/info");
    const again = await (await app.request("/metrics")).text();
    expect(again).toMatch(
      /secure_msg_relay_requests_total\{method="GET",route="\/v1\/info",status="200"\} 2/,
    );
    expect(again).toMatch(
      /secure_msg_relay_request_duration_seconds_count\{route="\/v1\/info"\} 2/,
    );
  });

  it("GET /v1/info is schema-valid and serves the signer's keys", async () => {
    const { app, signer, config } = await makeRelay();
    const res = await app.request("/v1/info");
    expect(res.status).toBe(200);
    const info = InfoResponse.parse(await res.json());
    expect(base64url.decode(info.keys.hybrid)).toEqual(signer.hybridPublic);
    expect(base64url.decode(info.keys.ed25519)).toEqual(signer.edPublic);
    expect(info.fingerprint).toBe(signer.fingerprint);
    expect(info.url).toBe(RELAY_URL);
    expect(info.limits).toEqual({
      maxEnvelopeBytes: config.maxEnvelopeBytes,
      maxInboxMessages: config.maxInboxMessages,
      messageTtlSeconds: config.messageTtlMs / 1000,
    });
  });
});

describe("PUT /v1/directory/:name", () => {
  it("registers (201) with a relay signature over the entry body", async () => {
    const { app, signer, store } = await makeRelay();
    const res = await register(app, "alice", alice.bundle);
    expect(res.status).toBe(201);
    const entry = DirectoryEntry.parse(await res.json());
    expect(entry.name).toBe("alice");
    expect(base64url.decode(entry.bundle)).toEqual(alice.bundle);
    expect(entry.index).toBe(0);
    const body = entryBody({ name: "alice", bundleHash: sha256(alice.bundle), at: entry.at });
    const sig = base64url.decode(entry.signature);
    expect(await verifyHybrid(signer.hybridPublic, Context.directory, body, sig)).toBe(true);
    // Bound to the name: the same signature does not cover another one.
    const other = entryBody({ name: "alicf", bundleHash: sha256(alice.bundle), at: entry.at });
    expect(await verifyHybrid(signer.hybridPublic, Context.directory, other, sig)).toBe(false);
    expect(await store.logSize()).toBe(1);
  });

  it("rotates (200) for the same identity with a newer bundle; refuses an older one; a retry is idempotent", async () => {
    const { app, store } = await makeRelay();
    expect((await register(app, "alice", alice.bundle)).status).toBe(201);
    const { created } = (await store.getEntry("alice"))!;
    const newer = await rebundle(alice, { created: created + 1000 });
    const res = await register(app, "alice", newer);
    expect(res.status).toBe(200);
    expect(DirectoryEntry.parse(await res.json()).index).toBe(1);
    // The same bundle again (a lost answer, retried) succeeds without a new log entry.
    const retry = await register(app, "alice", newer);
    expect(retry.status).toBe(200);
    expect(DirectoryEntry.parse(await retry.json()).index).toBe(1);
    await expectError(register(app, "alice", alice.bundle), 409, "STALE_BUNDLE");
    expect((await store.getEntry("alice"))!.bundle).toEqual(newer);
    expect(await store.logSize()).toBe(2);
  });

  it("refuses another identity for a taken name (409 NAME_TAKEN) and keeps the bundle", async () => {
    const { app, store } = await makeRelay();
    expect((await register(app, "alice", alice.bundle)).status).toBe(201);
    const impostor = await makeUser("alice");
    await expectError(register(app, "alice", impostor.bundle), 409, "NAME_TAKEN");
    expect((await store.getEntry("alice"))!.bundle).toEqual(alice.bundle);
    expect(await store.logSize()).toBe(1);
  });

  it("refuses bundles that are not for this name, this relay, or not validly signed", async () => {
    const { app, store } = await makeRelay();
    const now = Date.now();
    const day = 24 * 60 * 60 * 1000;
    const flipped = alice.bundle.slice();
    flipped[flipped.length - 1]! ^= 1;
    const elsewhere = await makeUser("carol", "http://127.0.0.1:9999");
    const expired = await rebundle(alice, { created: now - 20 * day, prekeyExpires: now - day });
    const future = await rebundle(alice, { created: now + 3 * day, prekeyExpires: now + 9 * day });
    const cases: [string, Uint8Array][] = [
      ["bob", alice.bundle], // name mismatch
      ["carol", elsewhere.bundle], // another relay's URL
      ["alice", flipped], // bad signature
      ["alice", expired],
      ["alice", future], // created beyond the clock-skew allowance
      ["alice", new Uint8Array(100)], // not a bundle
      ["alice", alice.bundle.subarray(0, 500)], // truncated
    ];
    for (const [name, bundle] of cases)
      await expectError(register(app, name, bundle), 400, "BAD_BUNDLE");
    expect(await store.logSize()).toBe(0);
  });

  it("refuses malformed requests with the right codes", async () => {
    const { app, store } = await makeRelay();
    const b = base64url.encode(alice.bundle);
    const put = (body: string, headers?: Record<string, string>, name = "alice") =>
      jsonRequest(app, "PUT", `/v1/directory/${name}`, body, headers);
    await expectError(put(JSON.stringify({ bundle: `${b}!` })), 400, "BAD_REQUEST"); // alphabet
    await expectError(put(JSON.stringify({ bundle: "AAAAA" })), 400, "BAD_REQUEST"); // length
    await expectError(put(JSON.stringify({ bundle: "AB" })), 400, "BAD_REQUEST"); // non-canonical
    await expectError(put(JSON.stringify({ bundle: 12 })), 400, "BAD_REQUEST");
    await expectError(put("{}"), 400, "BAD_REQUEST");
    await expectError(put("[]"), 400, "BAD_REQUEST");
    await expectError(put("null"), 400, "BAD_REQUEST");
    await expectError(put('{"bundle":'), 400, "BAD_JSON");
    await expectError(put(""), 400, "BAD_JSON");
    await expectError(
      put(JSON.stringify({ bundle: b }), { "content-type": "text/plain" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await expectError(
      app.request("/v1/directory/alice", { method: "PUT", body: JSON.stringify({ bundle: b }) }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await expectError(put(JSON.stringify({ bundle: b }), {}, "Alice"), 400, "BAD_REQUEST");
    await expectError(put(JSON.stringify({ bundle: b }), {}, "..%2f.."), 400, "BAD_REQUEST");
    expect(await store.logSize()).toBe(0);
    // The charset parameter is fine.
    const ok = await put(JSON.stringify({ bundle: b }), {
      "content-type": "application/json; charset=utf-8",
    });
    expect(ok.status).toBe(201);
  });
});

describe("GET /v1/directory/:name", () => {
  it("returns the entry with an inclusion proof in a signed checkpoint", async () => {
    const { app, signer } = await relayWith([alice, bob]);
    const res = await app.request("/v1/directory/bob");
    expect(res.status).toBe(200);
    const r = DirectoryResponse.parse(await res.json());
    expect(base64url.decode(r.bundle)).toEqual(bob.bundle);
    const body = entryBody({ name: "bob", bundleHash: sha256(bob.bundle), at: r.at });
    const sig = base64url.decode(r.signature);
    expect(await verifyHybrid(signer.hybridPublic, Context.directory, body, sig)).toBe(true);
    expect(await checkpointVerifies(signer.hybridPublic, r.checkpoint)).toBe(true);
    expect(r.checkpoint.size).toBeGreaterThan(r.index);
    const root = base64url.decode(r.checkpoint.root);
    const proof = r.proof.map(base64url.decode);
    expect(
      merkle.verifyInclusion(merkle.leafHash(body), r.index, r.checkpoint.size, proof, root),
    ).toBe(true);
    // The proof is for this entry only.
    const other = entryBody({ name: "bob", bundleHash: sha256(alice.bundle), at: r.at });
    expect(
      merkle.verifyInclusion(merkle.leafHash(other), r.index, r.checkpoint.size, proof, root),
    ).toBe(false);
  });

  it("404 UNKNOWN_USER for an unregistered name, 400 for an invalid one", async () => {
    const { app } = await makeRelay();
    await expectError(app.request("/v1/directory/nobody"), 404, "UNKNOWN_USER");
    for (const name of ["Alice", "-x", "a".repeat(33), "%00", "..%2f..", "a%20b", "%F0%9F%98%80"])
      await expectError(app.request(`/v1/directory/${name}`), 400, "BAD_REQUEST");
  });
});

describe("POST /v1/messages", () => {
  it("stores a deposit (201) with a receipt, and answers a duplicate with the stored copy", async () => {
    const { app, signer, store } = await relayWith([alice, bob]);
    const envelope = await envelopeFor(bob, alice, "hi alice");
    const res = await deposit(app, "alice", envelope);
    expect(res.status).toBe(201);
    const d = DepositResponse.parse(await res.json());
    expect(d.duplicate).toBe(false);
    expect(base64url.decode(d.id)).toEqual(envelopeId(envelope));
    const body = receiptBody({
      id: envelopeId(envelope),
      to: "alice",
      envelopeHash: sha256(envelope),
      at: d.at,
    });
    const receipt = base64url.decode(d.receipt);
    expect(await verifyReceipt(signer.edPublic, body, receipt)).toBe(true);
    // The receipt names the mailbox: it does not vouch for another one.
    const forBob = receiptBody({
      id: envelopeId(envelope),
      to: "bob",
      envelopeHash: sha256(envelope),
      at: d.at,
    });
    expect(await verifyReceipt(signer.edPublic, forBob, receipt)).toBe(false);
    const size = await store.logSize();

    const again = await deposit(app, "alice", envelope);
    expect(again.status).toBe(200);
    expect(DepositResponse.parse(await again.json())).toEqual({ ...d, duplicate: true });
    expect(await store.logSize()).toBe(size);
  });

  it("refuses an unknown recipient (404) and what is not an envelope (400)", async () => {
    const { app, store } = await relayWith([alice, bob]);
    const envelope = await envelopeFor(bob, alice);
    await expectError(deposit(app, "nobody", envelope), 404, "UNKNOWN_USER");
    await expectError(deposit(app, "alice", new Uint8Array(64)), 400, "BAD_ENVELOPE");
    await expectError(deposit(app, "alice", bob.bundle), 400, "BAD_ENVELOPE");
    // Cut inside the header (the ciphertext runs to the end, so a shorter tail still decodes).
    await expectError(deposit(app, "alice", envelope.subarray(0, 20)), 400, "BAD_ENVELOPE");
    await expectError(deposit(app, "alice", new Uint8Array(0)), 400, "BAD_ENVELOPE");
    await expectError(
      jsonRequest(app, "POST", "/v1/messages", { to: "alice" }),
      400,
      "BAD_REQUEST",
    );
    await expectError(
      jsonRequest(app, "POST", "/v1/messages", { to: "Alice", envelope: "AAAA" }),
      400,
      "BAD_REQUEST",
    );
    await expectError(
      jsonRequest(app, "POST", "/v1/messages", { to: "alice", envelope: "A" }),
      400,
      "BAD_REQUEST",
    );
    await expectError(jsonRequest(app, "POST", "/v1/messages", "{"), 400, "BAD_JSON");
    await expectError(
      jsonRequest(app, "POST", "/v1/messages", "{}", { "content-type": "text/json" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expect(await store.logSize()).toBe(2); // the two registrations
  });
});

describe("GET /v1/inbox and POST /v1/inbox/ack", () => {
  it("returns messages in order with proofs in a signed checkpoint, then acks them", async () => {
    const { app, signer } = await relayWith([alice, bob]);
    // A new sender, so that the first envelope starts a session alice can decrypt.
    const dave = await makeUser("dave");
    const envelopes: Uint8Array[] = [];
    for (const text of ["one", "two", "three"]) {
      const e = await envelopeFor(dave, alice, text);
      envelopes.push(e);
      expect((await deposit(app, "alice", e)).status).toBe(201);
    }
    const res = await signedRequest(app, alice, "GET", "/v1/inbox");
    expect(res.status).toBe(200);
    const r = InboxResponse.parse(await res.json());
    expect(r.messages.map((m) => base64url.decode(m.envelope))).toEqual(envelopes);
    expect(r.consistency).toBeNull();
    const cp = r.checkpoint!;
    expect(await checkpointVerifies(signer.hybridPublic, cp)).toBe(true);
    for (const m of r.messages) {
      expect(messageIncluded(m, "alice", cp)).toBe(true);
      const body = receiptBody({
        id: base64url.decode(m.id),
        to: "alice",
        envelopeHash: sha256(base64url.decode(m.envelope)),
        at: m.at,
      });
      expect(await verifyReceipt(signer.edPublic, body, base64url.decode(m.receipt))).toBe(true);
    }
    // The envelopes decrypt: the relay passed them through untouched.
    expect((await alice.client.decrypt(base64url.decode(r.messages[0]!.envelope))).text).toBe(
      "one",
    );

    // limit returns the oldest first.
    const two = InboxResponse.parse(
      await (await signedRequest(app, alice, "GET", "/v1/inbox?limit=2")).json(),
    );
    expect(two.messages.map((m) => m.id)).toEqual(r.messages.slice(0, 2).map((m) => m.id));

    // bob's mailbox is his own.
    const bobs = InboxResponse.parse(
      await (await signedRequest(app, bob, "GET", "/v1/inbox")).json(),
    );
    expect(bobs.messages).toEqual([]);

    const ack = await signedRequest(app, alice, "POST", "/v1/inbox/ack", {
      ids: r.messages.map((m) => m.id),
    });
    expect(ack.status).toBe(200);
    expect(AckResponse.parse(await ack.json())).toEqual({ deleted: 3 });
    const after = InboxResponse.parse(
      await (await signedRequest(app, alice, "GET", "/v1/inbox")).json(),
    );
    expect(after.messages).toEqual([]);
    // Acking again deletes nothing and is not an error.
    const again = await signedRequest(app, alice, "POST", "/v1/inbox/ack", {
      ids: [r.messages[0]!.id],
    });
    expect(await again.json()).toEqual({ deleted: 0 });
  });

  it("`since` gives a consistency proof from the checkpoint the client saw", async () => {
    const { app, signer } = await relayWith([alice, bob]);
    expect((await deposit(app, "alice", await envelopeFor(bob, alice, "a"))).status).toBe(201);
    const first = InboxResponse.parse(
      await (await signedRequest(app, alice, "GET", "/v1/inbox")).json(),
    );
    const old = first.checkpoint!;
    for (const t of ["b", "c", "d"])
      expect((await deposit(app, "alice", await envelopeFor(bob, alice, t))).status).toBe(201);
    const res = await signedRequest(app, alice, "GET", `/v1/inbox?since=${old.size}`);
    const r = InboxResponse.parse(await res.json());
    const cp = r.checkpoint!;
    expect(cp.size).toBeGreaterThan(old.size);
    expect(await checkpointVerifies(signer.hybridPublic, cp)).toBe(true);
    const proof = r.consistency!.map(base64url.decode);
    const [oldRoot, newRoot] = [base64url.decode(old.root), base64url.decode(cp.root)];
    expect(merkle.verifyConsistency(old.size, cp.size, oldRoot, newRoot, proof)).toBe(true);
    expect(merkle.verifyConsistency(old.size, cp.size, newRoot, newRoot, proof)).toBe(false);
    for (const m of r.messages) expect(messageIncluded(m, "alice", cp)).toBe(true);
    // since = the current size: an empty proof.
    const same = InboxResponse.parse(
      await (await signedRequest(app, alice, "GET", `/v1/inbox?since=${cp.size}`)).json(),
    );
    expect(same.consistency).toEqual([]);
  });

  it("unread messages expire after the TTL, and stop counting against the quota", async () => {
    let clock = Date.now();
    const { app } = await relayWith([alice, bob], {
      now: () => clock,
      config: { messageTtlMs: 60_000, mailboxQuota: 1 },
    });
    const [e1, e2] = [await envelopeFor(bob, alice, "1"), await envelopeFor(bob, alice, "2")];
    expect((await deposit(app, "alice", e1)).status).toBe(201);
    await expectError(deposit(app, "alice", e2), 429, "MAILBOX_FULL");
    clock += 60_001;
    const r = InboxResponse.parse(
      await (
        await signedRequest(app, alice, "GET", "/v1/inbox", undefined, { time: clock })
      ).json(),
    );
    expect(r.messages).toEqual([]);
    expect((await deposit(app, "alice", e2)).status).toBe(201);
  });

  it("validates limit and since", async () => {
    const { app } = await relayWith([alice, bob]);
    for (const q of [
      "limit=0",
      "limit=101",
      "limit=abc",
      "limit=-1",
      "limit=1.5",
      "limit=",
      "limit=1e3",
      "since=0",
      "since=x",
      "since=99999999999999999999",
    ])
      await expectError(signedRequest(app, alice, "GET", `/v1/inbox?${q}`), 400, "BAD_REQUEST");
    expect((await signedRequest(app, alice, "GET", "/v1/inbox?limit=100")).status).toBe(200);
  });

  it("validates the ack body", async () => {
    const { app } = await relayWith([alice, bob]);
    const bad: unknown[] = [
      {},
      { ids: [] },
      { ids: ["AAAA"] },
      { ids: "x" },
      { ids: Array(1001).fill("A".repeat(22)) },
    ];
    for (const body of bad)
      await expectError(
        signedRequest(app, alice, "POST", "/v1/inbox/ack", body),
        400,
        "BAD_REQUEST",
      );
    await expectError(signedRequest(app, alice, "POST", "/v1/inbox/ack", "{"), 400, "BAD_JSON");
  });
});

/** Reads SSE text from `reader` until `done(text)` holds. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  done: (text: string) => boolean,
  timeoutMs = 5000,
): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  while (!done(text)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out; got ${JSON.stringify(text)}`);
    let timer: NodeJS.Timeout | undefined;
    const chunk = await Promise.race([
      reader.read(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(text)}`)), left);
      }),
    ]).finally(() => clearTimeout(timer));
    if (chunk.done) throw new Error(`stream ended; got ${JSON.stringify(text)}`);
    text += decoder.decode(chunk.value, { stream: true });
  }
  return text;
}

describe("GET /v1/inbox/events", () => {
  it("streams a ready event, then a message event per deposit", async () => {
    const { app, ctx } = await relayWith([alice, bob]);
    await expectError(app.request("/v1/inbox/events"), 401, "UNAUTHORIZED");
    const res = await signedRequest(app, alice, "GET", "/v1/inbox/events");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    try {
      await readUntil(reader, (t) => t.includes("event: ready"));
      expect(ctx.events.subscribers).toBe(1);
      // A deposit for someone else is not announced here.
      expect((await deposit(app, "bob", await envelopeFor(alice, bob, "x"))).status).toBe(201);
      const d = DepositResponse.parse(
        await (await deposit(app, "alice", await envelopeFor(bob, alice, "y"))).json(),
      );
      const text = await readUntil(reader, (t) => t.includes("event: message"));
      const data = /event: message\ndata: (.*)\n/.exec(text)?.[1];
      expect(JSON.parse(data!)).toMatchObject({ id: d.id });
      expect(text.match(/event: message/g)).toHaveLength(1);
    } finally {
      await reader.cancel();
    }
    await expect.poll(() => ctx.events.subscribers).toBe(0);
  });
  it("a closed stream leaves no heartbeat timer running", async () => {
    const { app, ctx } = await relayWith([alice, bob]);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    const res = await signedRequest(app, alice, "GET", "/v1/inbox/events");
    const reader = res.body!.getReader();
    await readUntil(reader, (t) => t.includes("event: ready"));
    expect((await deposit(app, "alice", await envelopeFor(bob, alice))).status).toBe(201);
    await readUntil(reader, (t) => t.includes("event: message"));
    await reader.cancel();
    await expect.poll(() => ctx.events.subscribers).toBe(0);
    // A pending 15 s heartbeat would hold a stopping relay's event loop open.
    await expect.poll(timers).toBeLessThanOrEqual(before);
  });

  it("a mailbox keeps its newest streams (one more closes the oldest), and the process a bounded number", async () => {
    const events = new EventHub({ perMailbox: 2, total: 3 });
    const { app, ctx } = await relayWith([alice, bob], { events });
    const open = async (u: TestUser) => {
      const res = await signedRequest(app, u, "GET", "/v1/inbox/events");
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      await readUntil(reader, (t) => t.includes("event: ready"));
      return reader;
    };
    /** Resolves once the stream has ended (the relay closed it). */
    const ended = async (reader: ReadableStreamDefaultReader<Uint8Array>) => {
      for (;;) if ((await reader.read()).done) return true;
    };
    const a1 = await open(alice);
    const a2 = await open(alice);
    const a3 = await open(alice);
    expect(await ended(a1)).toBe(true);
    expect(ctx.events.subscribers).toBe(2);
    const b1 = await open(bob);
    expect(ctx.events.subscribers).toBe(3);
    await expectError(signedRequest(app, bob, "GET", "/v1/inbox/events"), 503, "UNAVAILABLE");
    // A mailbox at its own limit still gets a new stream: it takes its oldest's place.
    const a4 = await open(alice);
    expect(await ended(a2)).toBe(true);
    expect(ctx.events.subscribers).toBe(3);
    // The streams that stayed open still get their events.
    expect((await deposit(app, "alice", await envelopeFor(bob, alice))).status).toBe(201);
    for (const r of [a3, a4]) await readUntil(r, (t) => t.includes("event: message"));
    for (const r of [a3, a4, b1]) await r.cancel();
    await expect.poll(() => ctx.events.subscribers).toBe(0);
  });

  it("a HEAD request opens no stream and leaves no subscriber behind", async () => {
    const { app, ctx } = await relayWith([alice, bob]);
    const res = await signedRequest(app, alice, "HEAD", "/v1/inbox/events");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(res.body).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ctx.events.subscribers).toBe(0);
  });
});

describe("errors", () => {
  it("an unknown route is a 404 NOT_FOUND in the JSON error shape", async () => {
    const { app } = await makeRelay();
    for (const [method, path] of [
      ["GET", "/nope"],
      ["GET", "/v1"],
      ["GET", "/v1/nope"],
      ["DELETE", "/v1/directory/alice"],
      ["GET", "/v1/messages"],
      ["POST", "/v1/info"],
      ["GET", "/v1/directory/alice/extra"],
    ] as const) {
      const res = await app.request(path, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ error: { code: "NOT_FOUND", message: "no such route" } });
    }
  });

  it("a bug is a 500 INTERNAL with no internals, and is logged", async () => {
    const logged: unknown[] = [];
    const logger = { error: (o: unknown) => logged.push(o), info: () => {} } as never;
    const { app } = await makeRelay({
      logger,
      store: (base) =>
        patchedStore(base, {
          getEntry: () => Promise.reject(new Error("secret internal detail at /var/db")),
        }),
    });
    const res = await app.request("/v1/directory/alice");
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('{"error":{"code":"INTERNAL","message":"internal error"}}');
    expect(JSON.stringify(logged)).toContain("secret internal detail");
  });

  it("a StoreUnavailable from the store is a 503 UNAVAILABLE", async () => {
    const { app } = await makeRelay({
      store: (base) =>
        patchedStore(base, { getEntry: () => Promise.reject(new StoreUnavailable("disk full")) }),
    });
    const res = await app.request("/v1/directory/alice");
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("UNAVAILABLE");
    expect(body.error.message).not.toContain("disk full");
  });
});
