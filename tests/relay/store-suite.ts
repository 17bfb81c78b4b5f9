/**
 * The RelayStore contract (relay/storage/types.ts, DESIGN §4) as a reusable vitest suite:
 * every backend runs `storeSuite(name, make)` with a factory that returns a fresh, empty
 * store. The log is checked against RFC 9162 MTH computed straight from the leaves.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { utf8 } from "../../protocol/bytes.js";
import * as merkle from "../../protocol/merkle.js";
import type {
  RelayStore,
  SignReceipts,
  StoredCheckpoint,
  StoredEntry,
  StoredMessage,
} from "../../relay/storage/types.js";

export const NOW = 1_700_000_000_000;
const DAY = 86_400_000;

let counter = 0;

export function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** A deposit of a test batch: its message carries the receipt the store must attach. */
export interface TestDeposit {
  message: Omit<StoredMessage, "index">;
  leaf: Uint8Array;
}

/**
 * `sign` for depositMany: gives each stored message the receipt its test message carries,
 * found by its leaf (the very object passed in), so a test sees that every stored message
 * got its own receipt, and that only stored ones were signed.
 */
export function theirReceipts(items: TestDeposit[]): SignReceipts {
  const byLeaf = new Map(items.map((d) => [d.leaf, d.message.receipt]));
  return (leaves) =>
    leaves.map((l) => {
      const r = byLeaf.get(l);
      if (!r) throw new Error("asked to sign a leaf that is not one of this batch's");
      return r;
    });
}

export function message(
  to: string,
  over: Partial<Omit<StoredMessage, "index">> = {},
): Omit<StoredMessage, "index"> {
  counter++;
  return {
    id: randomBytes(16),
    to,
    envelope: utf8(`envelope ${counter}`),
    at: NOW,
    expires: NOW + 7 * DAY,
    receipt: randomBytes(64),
    ...over,
  };
}

/** A checkpoint of `size` leaves, signed at NOW + size (the bytes are arbitrary). */
export function checkpoint(size: number): StoredCheckpoint {
  return { size, root: randomBytes(32), at: NOW + size, signature: randomBytes(128) };
}

export function entry(
  name: string,
  identityKey: Uint8Array,
  created: number,
): Omit<StoredEntry, "index"> {
  return {
    name,
    bundle: utf8(`bundle ${name} ${created}`),
    identityKey,
    created,
    at: NOW,
    signature: randomBytes(96),
  };
}

export function leaf(): Uint8Array {
  return utf8(`leaf ${++counter}`);
}

/** RFC 9162 MTH of a non-empty list, straight from the definition. */
export function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return merkle.leafHash(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return merkle.nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

/** Checks size, every stored subtree node, the root and every inclusion proof against `leaves`. */
export async function expectLog(store: RelayStore, leaves: Uint8Array[]): Promise<void> {
  const size = leaves.length;
  expect(await store.logSize()).toBe(size);
  for (let level = 0; 2 ** level <= size; level++)
    for (let i = 0; (i + 1) * 2 ** level <= size; i++)
      expect(await store.node(level, i)).toEqual(
        mth(leaves.slice(i * 2 ** level, (i + 1) * 2 ** level)),
      );
  if (size === 0) return;
  const root = await merkle.root(store, size);
  expect(root).toEqual(mth(leaves));
  for (let i = 0; i < size; i++) {
    const proof = await merkle.inclusionProof(store, i, size);
    expect(merkle.verifyInclusion(merkle.leafHash(leaves[i]!), i, size, proof, root)).toBe(true);
  }
}

function expectPlain(...values: Uint8Array[]): void {
  for (const v of values) expect(Object.getPrototypeOf(v)).toBe(Uint8Array.prototype);
}

export function storeSuite(name: string, make: () => Promise<RelayStore>): void {
  describe(`RelayStore contract: ${name}`, () => {
    let store: RelayStore;
    /** leaves[i] is the leaf appended at log index i. */
    let leaves: Uint8Array[];

    beforeEach(async () => {
      store = await make();
      leaves = [];
    });
    afterEach(async () => {
      await store.close();
    });

    async function deposit(m: Omit<StoredMessage, "index">, max = 100) {
      const l = leaf();
      const r = await store.deposit(m, l, max);
      if (r.status === "stored") leaves[r.message.index] = l;
      return r;
    }

    async function putEntry(e: Omit<StoredEntry, "index">) {
      const l = leaf();
      const r = await store.putEntry(e, l);
      if (r.status === "stored") leaves[r.entry.index] = l;
      return r;
    }

    describe("messages", () => {
      it("stores, fetches oldest first per mailbox, and returns plain Uint8Arrays", async () => {
        const a = message("bob");
        const b = message("alice");
        const c = message("bob");
        const ra = await deposit(a);
        expect(ra).toEqual({ status: "stored", message: { ...a, index: 0 } });
        expect((await deposit(b)).status).toBe("stored");
        expect((await deposit(c)).status).toBe("stored");
        const got = await store.fetch("bob", 10, NOW);
        expect(got).toEqual([
          { ...a, index: 0 },
          { ...c, index: 2 },
        ]);
        for (const m of got) expectPlain(m.id, m.envelope, m.receipt);
        expect(await store.fetch("alice", 10, NOW)).toEqual([{ ...b, index: 1 }]);
        expect(await store.fetch("carol", 10, NOW)).toEqual([]);
        await expectLog(store, leaves);
      });

      it("fetches at most `limit`", async () => {
        for (let i = 0; i < 5; i++) await deposit(message("bob"));
        const got = await store.fetch("bob", 3, NOW);
        expect(got.map((m) => m.index)).toEqual([0, 1, 2]);
        expect(await store.fetch("bob", 0, NOW)).toEqual([]);
      });

      it("fetches no more envelope bytes than `maxBytes`, but always the first message", async () => {
        // An expired one first (never counted), and another mailbox's in between.
        await deposit(message("bob", { envelope: randomBytes(500), expires: NOW + 10 }));
        for (const n of [100, 200, 300, 50]) {
          await deposit(message("bob", { envelope: randomBytes(n) }));
          await deposit(message("alice", { envelope: randomBytes(1000) }));
        }
        const sizes = async (maxBytes: number, limit = 10) =>
          (await store.fetch("bob", limit, NOW + 11, maxBytes)).map((m) => m.envelope.length);
        expect(await sizes(300)).toEqual([100, 200]);
        expect(await sizes(299)).toEqual([100]);
        expect(await sizes(1)).toEqual([100]);
        // A prefix: the answer stops at the first that does not fit, though 50 would.
        expect(await sizes(600)).toEqual([100, 200, 300]);
        expect(await sizes(649)).toEqual([100, 200, 300]);
        expect(await sizes(650)).toEqual([100, 200, 300, 50]);
        expect(await sizes(10_000, 2)).toEqual([100, 200]);
        expect(await store.fetch("carol", 10, NOW, 1)).toEqual([]);
        await expect(store.fetch("bob", 10, NOW, 0)).rejects.toThrow(RangeError);
        await expect(store.fetch("bob", 10, NOW, 1.5)).rejects.toThrow(TypeError);
      });

      it("stores again, as a new message, an id whose stored copy has expired but is not swept yet", async () => {
        const a = message("bob", { expires: NOW + 10 });
        await deposit(a);
        // At its expiry it is still in the mailbox: a duplicate.
        const early = { ...message("bob"), id: a.id, at: NOW + 10 };
        expect(await deposit(early)).toEqual({ status: "duplicate", message: { ...a, index: 0 } });
        const again = { ...message("bob"), id: a.id, at: NOW + 11, expires: NOW + 11 + DAY };
        expect(await deposit(again)).toEqual({ status: "stored", message: { ...again, index: 1 } });
        expect(await store.fetch("bob", 10, NOW + 11)).toEqual([{ ...again, index: 1 }]);
        expect(await deposit(again)).toEqual({
          status: "duplicate",
          message: { ...again, index: 1 },
        });
        await expectLog(store, leaves);
      });

      it("hides messages whose expiry is before now", async () => {
        await deposit(message("bob", { expires: NOW + 10 }));
        await deposit(message("bob", { expires: NOW + 20 }));
        expect((await store.fetch("bob", 10, NOW + 10)).map((m) => m.index)).toEqual([0, 1]);
        expect((await store.fetch("bob", 10, NOW + 11)).map((m) => m.index)).toEqual([1]);
        expect(await store.fetch("bob", 10, NOW + 21)).toEqual([]);
      });

      it("returns the stored copy, unchanged, for a duplicate id, and appends nothing", async () => {
        const a = message("bob");
        await deposit(a);
        const again = { ...a, envelope: utf8("something else"), at: NOW + 5 };
        expect(await deposit(again)).toEqual({ status: "duplicate", message: { ...a, index: 0 } });
        expect(await store.fetch("bob", 10, NOW)).toEqual([{ ...a, index: 0 }]);
        expect(await store.logSize()).toBe(1);
      });

      it("keeps ids per mailbox: the same id in another mailbox is a new message", async () => {
        const a = message("bob");
        await deposit(a);
        const r = await deposit({ ...a, to: "alice" });
        expect(r).toEqual({ status: "stored", message: { ...a, to: "alice", index: 1 } });
      });

      it("refuses past the mailbox quota without appending, and accepts again after ack", async () => {
        const a = message("bob");
        await deposit(a, 2);
        await deposit(message("bob"), 2);
        expect(await deposit(message("bob"), 2)).toEqual({ status: "quota" });
        expect(await store.logSize()).toBe(2);
        expect((await deposit(message("alice"), 2)).status).toBe("stored");
        expect(await store.ack("bob", [a.id])).toBe(1);
        expect((await deposit(message("bob"), 2)).status).toBe("stored");
        await expectLog(store, leaves);
      });

      it("does not count expired, unswept messages against the quota", async () => {
        await deposit(message("bob", { expires: NOW + 10 }), 1);
        expect(await deposit(message("bob", { at: NOW + 5 }), 1)).toEqual({ status: "quota" });
        expect((await deposit(message("bob", { at: NOW + 11 }), 1)).status).toBe("stored");
      });

      it("acks only in the given mailbox and counts what it deleted", async () => {
        const a = message("bob");
        const b = message("bob");
        const c = message("alice");
        for (const m of [a, b, c]) await deposit(m);
        expect(await store.ack("alice", [a.id, b.id])).toBe(0);
        expect(await store.fetch("bob", 10, NOW)).toHaveLength(2);
        expect(await store.ack("bob", [a.id, c.id, randomBytes(16)])).toBe(1);
        expect(await store.ack("bob", [a.id])).toBe(0);
        expect(await store.ack("bob", [])).toBe(0);
        expect((await store.fetch("bob", 10, NOW)).map((m) => m.id)).toEqual([b.id]);
        expect(await store.fetch("alice", 10, NOW)).toHaveLength(1);
        await expectLog(store, leaves);
      });

      it("expires messages whose expiry is before now, and keeps the log", async () => {
        await deposit(message("bob", { expires: NOW + 10 }));
        await deposit(message("alice", { expires: NOW + 10 }));
        await deposit(message("bob", { expires: NOW + 20 }));
        expect(await store.expire(NOW + 10)).toBe(0);
        expect(await store.expire(NOW + 11)).toBe(2);
        expect(await store.expire(NOW + 11)).toBe(0);
        expect((await store.fetch("bob", 10, NOW)).map((m) => m.index)).toEqual([2]);
        await expectLog(store, leaves);
      });
    });

    describe("directory entries", () => {
      const alice = randomBytes(32);
      const mallory = randomBytes(32);

      it("registers a name first come, first served", async () => {
        expect(await store.getEntry("alice")).toBeUndefined();
        const e = entry("alice", alice, NOW);
        expect(await putEntry(e)).toEqual({ status: "stored", entry: { ...e, index: 0 } });
        const got = await store.getEntry("alice");
        expect(got).toEqual({ ...e, index: 0 });
        expectPlain(got!.bundle, got!.identityKey, got!.signature);

        const taken = await putEntry(entry("alice", mallory, NOW + 1));
        expect(taken).toEqual({ status: "conflict", current: { ...e, index: 0 } });
        expect(await store.logSize()).toBe(1);
      });

      it("rotates to a newer bundle of the same identity, and refuses an older or equal one", async () => {
        await putEntry(entry("alice", alice, NOW));
        await deposit(message("alice"));
        const newer = entry("alice", alice, NOW + 1000);
        expect(await putEntry(newer)).toEqual({ status: "stored", entry: { ...newer, index: 2 } });
        for (const created of [NOW + 1000, NOW + 999, NOW]) {
          const r = await putEntry(entry("alice", alice, created));
          expect(r).toEqual({ status: "conflict", current: { ...newer, index: 2 } });
        }
        expect(await store.getEntry("alice")).toEqual({ ...newer, index: 2 });
        await expectLog(store, leaves);
      });

      it("keeps names apart", async () => {
        await putEntry(entry("alice", alice, NOW));
        expect((await putEntry(entry("mallory", mallory, NOW))).status).toBe("stored");
        expect((await store.getEntry("mallory"))?.identityKey).toEqual(mallory);
        expect((await store.getEntry("alice"))?.identityKey).toEqual(alice);
      });
    });

    describe("log", () => {
      it("starts empty", async () => {
        expect(await store.logSize()).toBe(0);
        await expect(store.node(0, 0)).rejects.toThrow();
      });

      it("holds every appended leaf, messages and entries alike, for 1 to 40 leaves", async () => {
        for (let i = 0; i < 40; i++) {
          if (i % 3 === 0) await putEntry(entry(`user${i}`, randomBytes(32), NOW));
          else await deposit(message(`box${i % 4}`));
          await expectLog(store, leaves);
        }
      });
    });

    describe("checkpoints", () => {
      it("keeps the latest and ignores one not above it", async () => {
        expect(await store.latestCheckpoint()).toBeUndefined();
        const c3 = checkpoint(3);
        await store.putCheckpoint(c3);
        const got = await store.latestCheckpoint();
        expect(got).toEqual(c3);
        expectPlain(got!.root, got!.signature);
        await store.putCheckpoint(checkpoint(2));
        await store.putCheckpoint(checkpoint(3));
        expect(await store.latestCheckpoint()).toEqual(c3);
        const c5 = checkpoint(5);
        await store.putCheckpoint(c5);
        expect(await store.latestCheckpoint()).toEqual(c5);
      });
    });

    describe("nonces", () => {
      it("refuses a replay until the nonce expires", async () => {
        expect(await store.useNonce("k1", NOW + 100, NOW)).toBe(true);
        expect(await store.useNonce("k1", NOW + 200, NOW + 50)).toBe(false);
        expect(await store.useNonce("k2", NOW + 100, NOW)).toBe(true);
        expect(await store.useNonce("k1", NOW + 300, NOW + 100)).toBe(false);
        expect(await store.useNonce("k1", NOW + 300, NOW + 101)).toBe(true);
        expect(await store.useNonce("k1", NOW + 400, NOW + 200)).toBe(false);
      });

      it("stays correct across many nonces and their pruning", async () => {
        for (let i = 0; i < 300; i++)
          expect(await store.useNonce(`n${i}`, NOW + 10, NOW)).toBe(true);
        for (let i = 0; i < 300; i++)
          expect(await store.useNonce(`n${i}`, NOW + 100, NOW + 11)).toBe(true);
        for (let i = 0; i < 300; i++)
          expect(await store.useNonce(`n${i}`, NOW + 100, NOW + 50)).toBe(false);
      });
    });

    describe("rate limits", () => {
      const W = 60_000;

      it("adds hits to several windows in one call and returns each count, in order", async () => {
        expect(
          await store.addHits(
            [
              { key: "a", windowMs: W, add: 3 },
              { key: "b", windowMs: W, add: 1 },
              { key: "c", windowMs: 1000, add: 2 },
            ],
            start,
          ),
        ).toEqual([3, 1, 2]);
        expect(
          await store.addHits(
            [
              { key: "c", windowMs: 1000, add: 1 },
              { key: "a", windowMs: W, add: 2 },
            ],
            start + 1000,
          ),
        ).toEqual([1, 5]);
        expect(await store.addHits([], start)).toEqual([]);
        await expect(
          store.addHits(
            [
              { key: "a", windowMs: W, add: 1 },
              { key: "a", windowMs: W, add: 1 },
            ],
            start,
          ),
        ).rejects.toThrow(RangeError);
      });
      const start = Math.ceil(NOW / W) * W;
      /** One hit, judged as the relay judges it: within the limit if its count is. */
      const rateLimit = async (key: string, windowMs: number, limit: number, now: number) =>
        (await store.addHits([{ key, windowMs, add: 1 }], now))[0]! <= limit;

      it("allows `limit` hits per window, then refuses until the next window", async () => {
        for (let i = 0; i < 3; i++) expect(await rateLimit("ip", W, 3, start + i)).toBe(true);
        expect(await rateLimit("ip", W, 3, start + 10)).toBe(false);
        expect(await rateLimit("ip", W, 3, start + W - 1)).toBe(false);
        expect(await rateLimit("other", W, 3, start + W - 1)).toBe(true);
        expect(await rateLimit("ip", W, 3, start + W)).toBe(true);
      });

      it("keeps a long window's count while short windows come and go", async () => {
        const hour = 3_600_000;
        const t0 = Math.ceil(NOW / hour) * hour;
        for (let i = 0; i < 3; i++) expect(await rateLimit("slow", hour, 3, t0)).toBe(true);
        for (let i = 0; i < 200; i++) await rateLimit(`fast${i % 7}`, 1000, 1, t0 + i * 1000);
        expect(await rateLimit("slow", hour, 3, t0 + 200_000)).toBe(false);
      });
    });

    describe("concurrency", () => {
      it("gives 50 concurrent deposits 50 consecutive indexes and a consistent log", async () => {
        const ms = Array.from({ length: 50 }, (_, i) => message(`box${i % 3}`));
        const rs = await Promise.all(ms.map((m) => deposit(m, 1000)));
        const indexes = rs.map((r) => (r.status === "stored" ? r.message.index : -1));
        expect([...indexes].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
        await expectLog(store, leaves);
      });

      it("stores messages and entries appended concurrently in one consistent log", async () => {
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            i % 2 ? deposit(message("bob")) : putEntry(entry(`n${i}`, randomBytes(32), NOW)),
          ),
        );
        await expectLog(store, leaves);
      });

      it("stores a concurrently repeated id once", async () => {
        const m = message("bob");
        const rs = await Promise.all(Array.from({ length: 10 }, () => deposit(m)));
        expect(rs.filter((r) => r.status === "stored")).toHaveLength(1);
        expect(rs.filter((r) => r.status === "duplicate")).toHaveLength(9);
        expect(await store.logSize()).toBe(1);
      });

      it("holds the quota under concurrent deposits", async () => {
        const rs = await Promise.all(Array.from({ length: 20 }, () => deposit(message("bob"), 5)));
        expect(rs.filter((r) => r.status === "stored")).toHaveLength(5);
        expect(await store.fetch("bob", 100, NOW)).toHaveLength(5);
        await expectLog(store, leaves);
      });

      it("gives a name to exactly one of several identities registering at once", async () => {
        const rs = await Promise.all(
          Array.from({ length: 10 }, () => putEntry(entry("alice", randomBytes(32), NOW))),
        );
        expect(rs.filter((r) => r.status === "stored")).toHaveLength(1);
        expect(await store.logSize()).toBe(1);
      });

      it("counts concurrent rate-limit hits and nonces exactly", async () => {
        const hits = await Promise.all(
          Array.from({ length: 20 }, () =>
            store.addHits([{ key: "ip", windowMs: 60_000, add: 1 }], NOW),
          ),
        );
        expect(hits.map(([n]) => n).sort((x, y) => x! - y!)).toEqual(
          Array.from({ length: 20 }, (_, i) => i + 1),
        );
        const uses = await Promise.all(
          Array.from({ length: 10 }, () => store.useNonce("n", NOW + 100, NOW)),
        );
        expect(uses.filter(Boolean)).toHaveLength(1);
      });
    });

    describe("lifecycle", () => {
      it("is healthy while open; close is idempotent; a closed store is not healthy", async () => {
        await store.health();
        await store.close();
        await store.close();
        await expect(store.health()).rejects.toThrow();
      });
    });
  });
}
