import { describe, expect, it } from "vitest";
import { dearmor } from "../../protocol/armor.js";
import { Client } from "../../protocol/client.js";
import { ProtocolError } from "../../protocol/errors.js";
import { MemoryStorage } from "../../protocol/storage.js";

const kdf = { m: 1024, t: 1, p: 1 };
const code = (c: string) => (e: unknown) => ProtocolError.is(e, c as never);

async function twoClients() {
  let t = 1_700_000_000_000;
  const now = () => t;
  const aStore = new MemoryStorage();
  const bStore = new MemoryStorage();
  const alice = await Client.create(
    aStore,
    { name: "alice", password: "correct horse" },
    { kdf, now },
  );
  const bob = await Client.create(
    bStore,
    { name: "bob", password: "battery staple" },
    { kdf, now },
  );
  await alice.addContact(bob.exportBundle());
  await bob.addContact(alice.exportBundle());
  return { alice, bob, aStore, bStore, advance: (ms: number) => (t += ms), now };
}

describe("Client", () => {
  it("round trips in both directions, and the second message is much smaller", async () => {
    const { alice, bob } = await twoClients();
    const m1 = await alice.encrypt("bob", "hello bob");
    const r1 = await bob.decrypt(m1.envelope);
    expect(r1).toMatchObject({
      from: "alice",
      text: "hello bob",
      firstContact: true,
      verified: false,
    });
    const m2 = await alice.encrypt("bob", "second");
    expect(m2.envelope.length).toBeLessThan(m1.envelope.length / 10);
    expect((await bob.decrypt(m2.envelope)).text).toBe("second");
    const back = await bob.encrypt("alice", "hi alice");
    expect((await alice.decrypt(back.envelope)).text).toBe("hi alice");
    expect((await alice.history("bob")).map((m) => m.text)).toEqual([
      "hello bob",
      "second",
      "hi alice",
    ]);
  });

  it("detects a replay of the first and of a later message", async () => {
    const { alice, bob } = await twoClients();
    const m1 = await alice.encrypt("bob", "one");
    await bob.decrypt(m1.envelope);
    await expect(bob.decrypt(m1.envelope)).rejects.toSatisfy(code("REPLAY"));
    const m2 = await alice.encrypt("bob", "two");
    await bob.decrypt(m2.envelope);
    await expect(bob.decrypt(m2.envelope)).rejects.toSatisfy(code("REPLAY"));
  });

  it("says NOT_FOR_ME / NO_SESSION for someone else's message", async () => {
    const { alice, bob } = await twoClients();
    const carol = await Client.create(
      new MemoryStorage(),
      { name: "carol", password: "pw-carol-123" },
      { kdf },
    );
    const m1 = await alice.encrypt("bob", "one");
    await expect(carol.decrypt(m1.envelope)).rejects.toSatisfy(code("NOT_FOR_ME"));
    await bob.decrypt(m1.envelope);
    const m2 = await alice.encrypt("bob", "two");
    await expect(carol.decrypt(m2.envelope)).rejects.toSatisfy(code("NO_SESSION"));
  });

  it("never accepts a changed identity silently", async () => {
    const { alice, bob, now } = await twoClients();
    const bob2 = await Client.create(
      new MemoryStorage(),
      { name: "bob", password: "another pw" },
      { kdf, now },
    );
    await expect(alice.addContact(bob2.exportBundle())).rejects.toSatisfy(code("IDENTITY_CHANGED"));
    // A first message from the impostor is refused too.
    await bob2.addContact(alice.exportBundle());
    const fake = await bob2.encrypt("alice", "it's me");
    await expect(alice.decrypt(fake.envelope)).rejects.toSatisfy(code("IDENTITY_CHANGED"));
    // After re-verification it is accepted, unverified.
    const c = await alice.addContact(bob2.exportBundle(), { acceptChangedIdentity: true });
    expect(c.verified).toBe(false);
    expect((await alice.decrypt(fake.envelope)).text).toBe("it's me");
    void bob;
  });

  it("gives both sides the same safety number", async () => {
    const { alice, bob } = await twoClients();
    const a = await alice.contact("bob");
    const b = await bob.contact("alice");
    expect(a.safetyNumber).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(a.safetyNumber).toBe(b.safetyNumber);
    expect(a.fingerprint).toBe(bob.fingerprint);
  });

  it("reopens with the password and keeps sessions; a wrong password is WRONG_PASSWORD", async () => {
    const { alice, bob, bStore } = await twoClients();
    await bob.decrypt((await alice.encrypt("bob", "one")).envelope);
    await expect(Client.open(bStore, "wrong", { kdf })).rejects.toSatisfy(code("WRONG_PASSWORD"));
    const bob2 = await Client.open(bStore, "battery staple");
    expect((await bob2.decrypt((await alice.encrypt("bob", "two")).envelope)).text).toBe("two");
  });

  it("rotates prekeys and deletes old secrets after the grace period", async () => {
    const { alice, bob, advance, now } = await twoClients();
    const carol = await Client.create(
      new MemoryStorage(),
      { name: "carol", password: "pw-carol-123" },
      { kdf, now },
    );
    await carol.addContact(bob.exportBundle());
    const first = bob.prekeyId;
    const early = await alice.encrypt("bob", "sent before rotation");
    const late = await carol.encrypt("bob", "decrypted after the grace period");
    const carolsOldCopy = bob.exportBundle();
    advance(8 * 24 * 3600 * 1000);
    expect(await bob.maintain()).toBe(true);
    expect(bob.prekeyId).not.toBe(first);
    // Within the grace period the old prekey still works.
    expect((await bob.decrypt(early.envelope)).text).toBe("sent before rotation");
    advance(7 * 24 * 3600 * 1000);
    await bob.maintain();
    await expect(bob.decrypt(late.envelope)).rejects.toSatisfy(code("NOT_FOR_ME"));
    // A sender holding the stale bundle is told to fetch a fresh one.
    const dave = await Client.create(
      new MemoryStorage(),
      { name: "dave", password: "pw-dave-1234" },
      { kdf, now },
    );
    await expect(dave.addContact(carolsOldCopy)).rejects.toSatisfy(code("EXPIRED"));
  });

  it("serialises concurrent decryptions so a message cannot be accepted twice", async () => {
    const { alice, bob } = await twoClients();
    await bob.decrypt((await alice.encrypt("bob", "first")).envelope);
    const ms = [];
    for (let i = 0; i < 5; i++) ms.push((await alice.encrypt("bob", `m${i}`)).envelope);
    const all = [...ms, ...ms].map((m) =>
      bob.decrypt(m).then(
        (r) => r.text,
        (e) => e,
      ),
    );
    const results = await Promise.all(all);
    expect(results.filter((r) => typeof r === "string").sort()).toEqual([
      "m0",
      "m1",
      "m2",
      "m3",
      "m4",
    ]);
    expect(results.filter((r) => ProtocolError.is(r, "REPLAY"))).toHaveLength(5);
  });

  it("starts a new session for the X-Wing step when a one-sided run has no peer key", async () => {
    const { alice, bob } = await twoClients();
    const kinds: number[] = [];
    for (let i = 0; i < 120; i++) {
      const m = await alice.encrypt("bob", `m${i}`);
      kinds.push(m.envelope[1]!);
      expect((await bob.decrypt(m.envelope)).text).toBe(`m${i}`);
    }
    // Prekey messages (type 1) at the start and then every 50 messages.
    expect(kinds.flatMap((k, i) => (k === 1 ? [i] : []))).toEqual([0, 51, 102]);
    // Once Bob replies, Alice has his X-Wing key and steps inside the session.
    await alice.decrypt((await bob.encrypt("alice", "here is my key")).envelope);
    for (let i = 0; i < 60; i++) {
      const m = await alice.encrypt("bob", `n${i}`);
      expect(m.envelope[1]).toBe(2);
      await bob.decrypt(m.envelope);
    }
  });

  it("ignores an older bundle for a contact (no rollback), and canonicalises relay URLs", async () => {
    let t = 1_700_000_000_000;
    const now = () => t;
    const bobStore = new MemoryStorage();
    const bob = await Client.create(
      bobStore,
      { name: "bob", relay: "HTTP://Relay.Example:8787/", password: "pw-bob-12345" },
      { kdf, now },
    );
    expect(bob.relay).toBe("http://relay.example:8787");
    expect(bob.address).toBe("bob@relay.example:8787");
    const alice = await Client.create(
      new MemoryStorage(),
      { name: "alice", password: "pw-alice-123" },
      { kdf, now },
    );
    const old = bob.exportBundle();
    t += 8 * 24 * 3600 * 1000;
    await bob.maintain();
    await alice.addContact(bob.exportBundle());
    await alice.addContact(old); // accepted as input, but the newer bundle stays
    const m = await alice.encrypt("bob", "to the new prekey");
    expect((await bob.decrypt(m.envelope)).text).toBe("to the new prekey");
    const prekeyId = new DataView(m.envelope.buffer, m.envelope.byteOffset).getUint32(2);
    expect(prekeyId).toBe(bob.prekeyId);
  });

  it("starts a new session on request (recovery)", async () => {
    const { alice, bob } = await twoClients();
    await bob.decrypt((await alice.encrypt("bob", "one")).envelope);
    await alice.resetSession("bob");
    const again = await alice.encrypt("bob", "two");
    expect(again.envelope[1]).toBe(1); // a prekey message
    expect((await bob.decrypt(again.envelope)).text).toBe("two");
    expect((await bob.decrypt((await alice.encrypt("bob", "three")).envelope)).text).toBe("three");
  });

  it("never sends again on a reset session, even after the peer uses it (no key reuse after a restore)", async () => {
    const aStore = new MemoryStorage();
    const t = 1_700_000_000_000;
    const now = () => t;
    const alice = await Client.create(
      aStore,
      { name: "alice", password: "pw-alice-123" },
      { kdf, now },
    );
    const bob = await Client.create(
      new MemoryStorage(),
      { name: "bob", password: "pw-bob-12345" },
      { kdf, now },
    );
    await alice.addContact(bob.exportBundle());
    await bob.addContact(alice.exportBundle());
    await bob.decrypt((await alice.encrypt("bob", "one")).envelope);
    await alice.decrypt((await bob.encrypt("alice", "two")).envelope);
    const backup = new Map(aStore.data);
    const sent = await alice.encrypt("bob", "secret before restore");
    const stillThere = await bob.encrypt("alice", "still there");
    await bob.decrypt(sent.envelope);
    // Restore Alice's profile from the copy, then reset as recovery requires.
    aStore.data.clear();
    for (const [k, v] of backup) aStore.data.set(k, v);
    const restored = await Client.open(aStore, "pw-alice-123", { now });
    await restored.resetSession("bob");
    // Bob keeps writing on the old session; Alice still reads it...
    expect((await restored.decrypt(stillThere.envelope)).text).toBe("still there");
    // ...but her next message starts a new session: no (epoch, n) is ever used twice.
    const next = await restored.encrypt("bob", "after restore");
    expect(next.envelope[1]).toBe(1);
    expect((await bob.decrypt(next.envelope)).text).toBe("after restore");
  });

  it("exports a bundle as armor", async () => {
    const { alice } = await twoClients();
    expect(dearmor(alice.exportBundle(), "BUNDLE").data.length).toBeGreaterThan(5000);
  });
});
