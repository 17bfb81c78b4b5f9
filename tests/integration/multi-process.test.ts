/**
 * Several relay processes on one PostgreSQL database (issue 5): two real
 * `secure-msg relay --database-url` processes share one schema and one data folder (so
 * one key file), behind one public URL, as an operator runs them behind a load balancer.
 * Clients are the protocol's RelayClient, which verifies every signature, proof and
 * checkpoint as a real client does. A deposit on A is fetched on B and pushed over SSE by
 * B; a request's nonce used on A is refused by B; the rate limit counts across both; the
 * checkpoints both sign verify as one log.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { base64url, randomBytes } from "../../protocol/bytes.js";
import { Context, NONCE_LENGTH } from "../../protocol/relay-api.js";
import { RelayClient, type RequestSigner } from "../../protocol/relay-client.js";
import { ed25519 } from "../../protocol/sign.js";
import { closeAdmin, dropSchemas, pgMissing, pgProxy, schemaName, schemaUrl } from "../pg.js";
import { envelopeFor, makeUser, signHeaders, type TestUser } from "../relay/helpers.js";
import { cli, killAll, type RelayProcess, startPgRelay } from "./helpers.js";

const skip = await pgMissing();

/** Clients know the deployment by one address; the processes behind it are A and B. */
const PUBLIC_URL = "http://127.0.0.1:8799";
const RATE_LIMIT = 100;

function requestSigner(u: TestUser): RequestSigner {
  return { name: u.name, sign: (body) => ed25519.sign(u.edSeed, Context.request, body) };
}

describe.skipIf(skip).sequential("two relay processes on one PostgreSQL schema", () => {
  let root: string;
  let data: string;
  let url: string;
  let a: RelayProcess;
  let b: RelayProcess;
  let alice: TestUser;
  let bob: TestUser;
  /** A client per process, for the same user: they share bob's pin as it advances. */
  const client = (p: RelayProcess, pin?: RelayClient) =>
    new RelayClient(p.url, pin?.pinned ? { pin: pin.pinned } : {});

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "secure-msg-multi-"));
    data = join(root, "relay");
    url = schemaUrl(schemaName());
    const flags = ["--public-url", PUBLIC_URL, "--rate-limit", String(RATE_LIMIT), "--trust-proxy"];
    // Both start at once on an empty folder and an empty schema: one key file, one schema.
    [a, b] = await Promise.all([startPgRelay(data, url, flags), startPgRelay(data, url, flags)]);
    [alice, bob] = await Promise.all([makeUser("alice", PUBLIC_URL), makeUser("bob", PUBLIC_URL)]);
    await client(a).register(alice.bundle, "alice");
    await client(b).register(bob.bundle, "bob");
  });

  afterAll(async () => {
    await a?.stop("SIGKILL");
    await b?.stop("SIGKILL");
    killAll();
    if (root) await rm(root, { recursive: true, force: true });
    if (!skip) {
      await dropSchemas();
      await closeAdmin();
    }
  });

  it("shares one key file created by whichever process came first", async () => {
    expect(a.fingerprint).toBe(b.fingerprint);
    expect((await stat(join(data, "relay.key"))).mode & 0o777).toBe(0o600);
    const notes = [a.output.stderr, b.output.stderr].join("\n");
    expect(notes.match(/created the relay key file/g) ?? []).toHaveLength(1);
    // Both processes see one directory: each finds the user the other registered.
    expect(await client(a).lookup("bob")).toEqual(bob.bundle);
    expect(await client(b).lookup("alice")).toEqual(alice.bundle);
  });

  it("fetches on B a message deposited on A, and B pushes it over SSE", async () => {
    const stream = new AbortController();
    const events: string[] = [];
    const watching = client(b).watch(requestSigner(bob), stream.signal, (e) => events.push(e));
    const deadline = (what: string, check: () => boolean) =>
      (async () => {
        const end = Date.now() + 10_000;
        while (!check()) {
          if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
    try {
      await deadline("the stream to open", () => events.includes("ready"));
      const r = await client(a).deposit("bob", await envelopeFor(alice, bob, "via A"));
      expect(r.duplicate).toBe(false);
      await deadline("B to push the message", () => events.includes("message"));
      const got = await client(b).fetchInbox(requestSigner(bob));
      expect(got.rejected).toEqual([]);
      expect(got.messages.map((m) => m.id)).toEqual([r.id]);
      expect((await bob.client.decrypt(got.messages[0]!.envelope)).text).toBe("via A");
      expect(await client(b).ack(requestSigner(bob), [r.id])).toBe(1);
      // A deposit through B itself still reaches B's stream once (the local event).
      const before = events.filter((e) => e === "message").length;
      await client(b).deposit("bob", await envelopeFor(alice, bob, "via B"));
      await deadline(
        "the local event",
        () => events.filter((e) => e === "message").length > before,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(events.filter((e) => e === "message")).toHaveLength(before + 1);
    } finally {
      stream.abort();
      await watching.catch(() => undefined);
    }
    const rest = await client(a).fetchInbox(requestSigner(bob));
    await client(a).ack(
      requestSigner(bob),
      rest.messages.map((m) => m.id),
    );
  });

  it("refuses on B a signed request whose nonce was used on A", async () => {
    const relayKey = base64url.decode(
      ((await (await fetch(`${b.url}/v1/info`)).json()) as { keys: { ed25519: string } }).keys
        .ed25519,
    );
    const headers = await signHeaders(bob, {
      method: "GET",
      path: "/v1/inbox",
      relayKey,
      nonce: randomBytes(NONCE_LENGTH),
    });
    const first = await fetch(`${a.url}/v1/inbox`, { headers });
    expect(first.status).toBe(200);
    const replay = await fetch(`${b.url}/v1/inbox`, { headers });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe(
      "REPLAYED_REQUEST",
    );
  });

  it("counts one rate limit across both processes", async () => {
    // A fresh client address (the relays trust X-Forwarded-For here), and a whole window.
    const ip = `198.51.100.${1 + Math.floor(Math.random() * 250)}`;
    const left = 60_000 - (Date.now() % 60_000);
    if (left < 15_000) await new Promise((r) => setTimeout(r, left + 100));
    const statuses: { at: "a" | "b"; status: number }[] = [];
    for (let i = 0; i < RATE_LIMIT + 10; i++) {
      const p = i % 2 ? a : b;
      // Rate limits are checked before the body is read: an empty deposit counts too.
      const res = await fetch(`${p.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": ip },
        body: "{}",
      });
      await res.body?.cancel();
      statuses.push({ at: i % 2 ? "a" : "b", status: res.status });
    }
    expect(statuses.slice(0, RATE_LIMIT).every((s) => s.status === 400)).toBe(true);
    const refused = statuses.slice(RATE_LIMIT);
    expect(refused.every((s) => s.status === 429)).toBe(true);
    expect(new Set(refused.map((s) => s.at))).toEqual(new Set(["a", "b"]));
  });

  it("keeps one log: checkpoints signed by A and by B verify as one, under concurrent deposits", async () => {
    // bob's view advances through both processes in turn; RelayClient checks every
    // checkpoint's signature and its consistency proof from the one seen before.
    let viewer = client(a);
    await viewer.fetchInbox(requestSigner(bob));
    const sizes: number[] = [];
    for (let round = 0; round < 6; round++) {
      const p = round % 2 ? a : b;
      // Deposits to both processes at once, then a fetch from the other one.
      const ids = await Promise.all(
        Array.from({ length: 6 }, async (_, i) => {
          const c = client(i % 2 ? a : b);
          return (await c.deposit("bob", await envelopeFor(alice, bob, `r${round} m${i}`))).id;
        }),
      );
      viewer = client(p, viewer);
      const got = await viewer.fetchInbox(requestSigner(bob));
      expect(got.rejected).toEqual([]);
      expect(new Set(got.messages.map((m) => base64url.encode(m.id)))).toEqual(
        new Set(ids.map((id) => base64url.encode(id))),
      );
      expect(new Set(got.messages.map((m) => m.index)).size).toBe(6);
      await viewer.ack(
        requestSigner(bob),
        got.messages.map((m) => m.id),
      );
      sizes.push(viewer.pinned!.checkpoint!.size);
    }
    // Each round's checkpoint covers 6 more leaves, whichever process signed it.
    for (let i = 1; i < sizes.length; i++) expect(sizes[i]).toBe(sizes[i - 1]! + 6);
    // A directory lookup on either process verifies against that same log.
    expect(await client(b, viewer).lookup("alice")).toEqual(alice.bundle);
    expect(await client(a, viewer).lookup("bob")).toEqual(bob.bundle);
  });

  it("answers 503 while the database is unreachable, and recovers by itself", async () => {
    const proxy = await pgProxy();
    const c = await startPgRelay(data, proxy.url(new URL(url).searchParams.get("schema")!), [
      "--public-url",
      PUBLIC_URL,
    ]);
    try {
      const stream = new AbortController();
      const events: string[] = [];
      const watching = client(c)
        .watch(requestSigner(bob), stream.signal, (e) => events.push(e))
        .catch(() => undefined);
      const ready = Date.now() + 10_000;
      while (!events.includes("ready")) {
        if (Date.now() > ready) throw new Error("C's event stream did not open");
        await new Promise((res) => setTimeout(res, 20));
      }
      proxy.down();
      const health = await fetch(`${c.url}/healthz`);
      expect(health.status).toBe(503);
      const envelope = await envelopeFor(alice, bob, "while the database is away");
      await expect(client(c).deposit("bob", envelope)).rejects.toMatchObject({
        code: "RELAY_UNAVAILABLE",
      });
      // Meanwhile A stores a message: C learns of it once its listener is back.
      const r = await client(a).deposit("bob", envelope);
      proxy.up();
      const end = Date.now() + 20_000;
      while ((await fetch(`${c.url}/healthz`)).status !== 200) {
        if (Date.now() > end) throw new Error("C did not recover");
        await new Promise((res) => setTimeout(res, 100));
      }
      while (!events.includes("message")) {
        if (Date.now() > end) throw new Error("C did not push the message stored meanwhile");
        await new Promise((res) => setTimeout(res, 100));
      }
      const got = await client(c).fetchInbox(requestSigner(bob));
      expect(got.messages.map((m) => base64url.encode(m.id))).toEqual([base64url.encode(r.id)]);
      await client(c).ack(requestSigner(bob), [r.id]);
      stream.abort();
      await watching;
      expect(c.output.stderr).not.toMatch(/postgres:\/\//);
      expect(c.output.lines.join("\n")).not.toMatch(/postgres:\/\//);
    } finally {
      await c.stop("SIGKILL");
      await proxy.close();
    }
  });

  it("refuses a bad or unreachable database URL without printing its password", async () => {
    const data = join(root, "bad-url");
    const bad = await cli([
      "relay",
      "--data",
      data,
      "--database-url",
      "postgres://u:hunter2@h/db?schema=No",
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --database-url: schema must be/);
    const down = await cli([
      "relay",
      "--port",
      "0",
      "--data",
      data,
      "--database-url",
      "postgres://u:hunter2@127.0.0.1:1/db",
    ]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /cannot start the relay: cannot open the PostgreSQL store: .*ECONNREFUSED/,
    );
    for (const r of [bad, down]) expect(r.stdout + r.stderr).not.toContain("hunter2");
  });

  it("refuses to start a process with another key file on the shared database", async () => {
    const r = await cli(
      ["relay", "--port", "0", "--data", join(root, "other"), "--database-url", url],
      { timeoutMs: 30_000 },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/signed by another relay key/);
    expect(r.stderr).not.toMatch(/postgres:\/\//);
  });
});
