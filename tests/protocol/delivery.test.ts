/**
 * The Client's relay flows against real relay apps in memory: fetch is routed to
 * `app.request`, so everything but the socket is real (relay, store, signatures, proofs).
 */
import { describe, expect, it } from "vitest";
import { Client } from "../../protocol/client.js";
import { ProtocolError } from "../../protocol/errors.js";
import { sha256 } from "../../protocol/kdf.js";
import { receiptBody } from "../../protocol/relay-api.js";
import { MemoryStorage } from "../../protocol/storage.js";
import { createApp } from "../../relay/app.js";
import { DEFAULTS } from "../../relay/config.js";
import { RelaySigner } from "../../relay/signer.js";
import { SqliteStore } from "../../relay/storage/sqlite.js";

const kdf = { m: 1024, t: 1, p: 1 };
const code = (c: string) => (e: unknown) => ProtocolError.is(e, c as never);

async function relay(url: string, config: Partial<typeof DEFAULTS> = {}) {
  const store = SqliteStore.open(":memory:");
  const signer = await RelaySigner.generate();
  const { app, ctx } = createApp({ store, signer, config: { ...DEFAULTS, ...config, url } });
  return { app, ctx, store, signer, up: true };
}

type Relay = Awaited<ReturnType<typeof relay>>;

/** A fetch that reaches the in-memory relays by host, or fails like a dead network. */
function network(relays: Relay[]): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const r = relays.find((x) => new URL(x.ctx.config.url).host === url.host);
    if (!r?.up) throw new TypeError("fetch failed");
    return r.app.request(url.pathname + url.search, init);
  }) as typeof fetch;
}

async function user(name: string, r: Relay, net: typeof fetch) {
  const c = await Client.create(
    new MemoryStorage(),
    { name, relay: r.ctx.config.url, password: `${name}-password` },
    { kdf, fetch: net },
  );
  await c.register();
  return c;
}

describe("delivery through relays", () => {
  it("registers, looks up, sends and fetches in both directions", async () => {
    const r1 = await relay("http://127.0.0.1:9001");
    const net = network([r1]);
    const alice = await user("alice", r1, net);
    const bob = await user("bob", r1, net);
    const c = await alice.addContactFromRelay("bob@127.0.0.1:9001");
    expect(c.fingerprint).toBe(bob.fingerprint);
    expect((await alice.send("bob", "hello over the relay")).delivered).toBe(true);
    const got = await bob.fetchInbox();
    expect(got.received.map((m) => [m.from, m.text])).toEqual([
      ["alice@127.0.0.1:9001", "hello over the relay"],
    ]);
    expect((await bob.fetchInbox()).received).toEqual([]); // acknowledged and deleted
    await bob.send("alice@127.0.0.1:9001", "hi back");
    expect((await alice.fetchInbox()).received.map((m) => m.text)).toEqual(["hi back"]);
    expect(await r1.store.fetch("alice", 10, Date.now())).toEqual([]);
  });

  it("federates: a sender deposits directly at the recipient's relay", async () => {
    const r1 = await relay("http://127.0.0.1:9001");
    const r2 = await relay("http://127.0.0.1:9002");
    const net = network([r1, r2]);
    const alice = await user("alice", r1, net);
    const carol = await user("carol", r2, net);
    await carol.addContactFromRelay("alice@127.0.0.1:9001");
    await carol.send("alice", "from another relay");
    const got = await alice.fetchInbox();
    expect(got.received[0]).toMatchObject({
      from: "carol@127.0.0.1:9002",
      text: "from another relay",
    });
    await alice.send("carol@127.0.0.1:9002", "and back");
    expect((await carol.fetchInbox()).received.map((m) => m.text)).toEqual(["and back"]);
  });

  it("keeps messages queued while the relay is down, and delivers them later", async () => {
    const r1 = await relay("http://127.0.0.1:9001");
    const net = network([r1]);
    const alice = await user("alice", r1, net);
    const bob = await user("bob", r1, net);
    await alice.addContactFromRelay("bob");
    r1.up = false;
    const sent = await alice.send("bob", "while down");
    expect(sent.delivered).toBe(false);
    expect(sent.error).toMatch(/cannot reach/);
    expect(await alice.outbox()).toHaveLength(1);
    expect((await alice.history("bob@127.0.0.1:9001"))[0]).toMatchObject({ state: "queued" });
    r1.up = true;
    expect(await alice.flushOutbox()).toMatchObject({ sent: 1, queued: 0 });
    expect(await alice.outbox()).toHaveLength(0);
    expect((await alice.history("bob@127.0.0.1:9001"))[0]).toMatchObject({ state: "sent" });
    expect((await bob.fetchInbox()).received.map((m) => m.text)).toEqual(["while down"]);
  });

  it("refuses a relay whose keys changed, unless told to accept them", async () => {
    const r1 = await relay("http://127.0.0.1:9001");
    const net = network([r1]);
    const alice = await user("alice", r1, net);
    // Swap the relay's signer: same URL, new keys.
    const swapped = createApp({
      store: r1.store,
      signer: await RelaySigner.generate(),
      config: r1.ctx.config,
    });
    r1.app = swapped.app;
    await expect(alice.fetchInbox()).rejects.toSatisfy(code("RELAY_KEY_CHANGED"));
    await expect(alice.fetchInbox({ acceptChangedRelayKeys: true })).resolves.toMatchObject({
      received: [],
    });
  });

  it("drops a message whose receipt was forged, and says why", async () => {
    const r1 = await relay("http://127.0.0.1:9001");
    const net = network([r1]);
    const alice = await user("alice", r1, net);
    const bob = await user("bob", r1, net);
    await alice.addContactFromRelay("bob");
    await alice.send("bob", "genuine");
    // The relay's storage is tampered with: the stored receipt no longer verifies.
    const [m] = await r1.store.fetch("bob", 1, Date.now());
    await r1.store.ack("bob", [m!.id]);
    const forged = { ...m!, receipt: m!.receipt.map((x, i) => (i === 0 ? x ^ 1 : x)) };
    const { index: _index, ...rest } = forged;
    await r1.store.deposit(rest, new Uint8Array([9, 9, 9]), 100);
    const got = await bob.fetchInbox();
    expect(got.received).toEqual([]);
    expect(got.rejected[0]?.reason).toMatch(/receipt/);
  });

  it("acknowledges a message it already stored without processing it twice", async () => {
    const r1 = await relay("http://127.0.0.1:9001");
    const net = network([r1]);
    const alice = await user("alice", r1, net);
    const bob = await user("bob", r1, net);
    await alice.addContactFromRelay("bob");
    await alice.send("bob", "once");
    // Bob fetches and stores, but the ack is lost: the message is served again.
    const [m] = await r1.store.fetch("bob", 1, Date.now());
    expect((await bob.decrypt(m!.envelope)).text).toBe("once");
    const again = await bob.fetchInbox();
    expect(again).toMatchObject({ received: [], rejected: [] });
    expect(await r1.store.fetch("bob", 10, Date.now())).toEqual([]);
  });
});

describe("delivery against a dishonest or struggling relay", () => {
  it("refuses a bundle for another address before storing anything", async () => {
    const r1 = await relay("http://127.0.0.1:9001");
    const r2 = await relay("http://127.0.0.1:9002");
    const net = network([r1, r2]);
    const alice = await user("alice", r1, net);
    await user("bob", r2, net);
    // Relay 1 answers a lookup of "mallory" with a bundle of bob@127.0.0.1:9002.
    const bobEntry = (await r2.store.getEntry("bob"))!;
    const real = r1.app;
    r1.app = {
      request: async (path: string, init?: RequestInit) => {
        if (path === "/v1/directory/mallory") {
          const res = await real.request("/v1/directory/alice", init);
          const body = (await res.json()) as Record<string, unknown>;
          return Response.json({
            ...body,
            name: "mallory",
            bundle: Buffer.from(bobEntry.bundle).toString("base64url"),
          });
        }
        return real.request(path, init);
      },
    } as typeof real;
    await expect(alice.addContactFromRelay("mallory")).rejects.toSatisfy((e) =>
      ProtocolError.is(e),
    );
    expect(await alice.contacts()).toEqual([]);
  });

  it("keeps a message queued when the relay says to retry later (429)", async () => {
    const r1 = await relay("http://127.0.0.1:9001", { mailboxQuota: 1 });
    const net = network([r1]);
    const alice = await user("alice", r1, net);
    const bob = await user("bob", r1, net);
    await alice.addContactFromRelay("bob");
    expect((await alice.send("bob", "fits")).delivered).toBe(true);
    const second = await alice.send("bob", "mailbox full");
    expect(second.delivered).toBe(false);
    expect(await alice.outbox()).toHaveLength(1);
    expect((await bob.fetchInbox()).received.map((m) => m.text)).toEqual(["fits"]);
    expect(await alice.flushOutbox()).toMatchObject({ sent: 1 });
    expect((await bob.fetchInbox()).received.map((m) => m.text)).toEqual(["mailbox full"]);
  });

  it("drops a session message without its session, and says why", async () => {
    const r1 = await relay("http://127.0.0.1:9001");
    const net = network([r1]);
    const alice = await user("alice", r1, net);
    const bob = await user("bob", r1, net);
    await alice.addContactFromRelay("bob");
    await alice.send("bob", "first");
    await alice.send("bob", "second");
    const [first] = await r1.store.fetch("bob", 1, Date.now());
    await r1.store.ack("bob", [first!.id]);
    const got = await bob.fetchInbox();
    expect(got).toMatchObject({ received: [], pending: 0 });
    expect(got.rejected[0]?.reason).toMatch(/NO_SESSION/);
  });

  it("keeps messages whose X-Wing step has not arrived, and opens them when it does", async () => {
    const r1 = await relay("http://127.0.0.1:9001");
    const net = network([r1]);
    const alice = await user("alice", r1, net);
    const bob = await user("bob", r1, net);
    await alice.addContactFromRelay("bob");
    await alice.send("bob", "hello");
    await bob.fetchInbox();
    await bob.send("alice@127.0.0.1:9001", "here is my X-Wing key");
    await alice.fetchInbox();
    for (let i = 0; i < 50; i++) await alice.send("bob", `m${i}`);
    expect((await bob.fetchInbox()).received).toHaveLength(50);
    await alice.send("bob", "carries the step");
    await alice.send("bob", "after the step");
    const [step] = await r1.store.fetch("bob", 1, Date.now());
    await r1.store.ack("bob", [step!.id]);
    expect(await bob.fetchInbox()).toMatchObject({ received: [], rejected: [], pending: 1 });
    const { index: _index, ...again } = step!;
    const leaf = receiptBody({
      id: again.id,
      to: "bob",
      envelopeHash: sha256(again.envelope),
      at: again.at,
    });
    await r1.store.deposit(again, leaf, 100);
    const late = await bob.fetchInbox();
    expect(late.received.map((m) => m.text)).toEqual(["carries the step", "after the step"]);
    expect(late.pending).toBe(0);
  });
});
