/**
 * The RelayStore group-commit contract (`depositMany`, `nodes`; relay/storage/types.ts)
 * as a reusable suite, run by every backend beside `storeSuite`: a batch decides its
 * items exactly as depositing them one after another would, in one atomic write.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { DepositResult, RelayStore } from "../../relay/storage/types.js";
import {
  entry,
  expectLog,
  leaf,
  message,
  NOW,
  randomBytes,
  type TestDeposit,
  theirReceipts,
} from "./store-suite.js";

export function batchSuite(name: string, make: () => Promise<RelayStore>): void {
  describe(`RelayStore group commit: ${name}`, () => {
    let store: RelayStore;
    let leaves: Uint8Array[];

    beforeEach(async () => {
      store = await make();
      leaves = [];
    });
    afterEach(async () => {
      await store.close();
    });

    async function depositMany(items: TestDeposit[], max = 100): Promise<DepositResult[]> {
      const rs = await store.depositMany(items, max, theirReceipts(items));
      rs.forEach((r, i) => {
        if (r.status === "stored") leaves[r.message.index] = items[i]!.leaf;
      });
      return rs;
    }
    const item = (m = message("bob")): TestDeposit => ({ message: m, leaf: leaf() });

    it("stores a batch with consecutive indexes and a consistent log, after earlier leaves", async () => {
      const e = entry("alice", randomBytes(32), NOW);
      const first = leaf();
      expect((await store.putEntry(e, first)).status).toBe("stored");
      leaves[0] = first;
      for (const size of [1, 2, 3, 5, 8, 13]) {
        const items = Array.from({ length: size }, (_, i) => item(message(`box${i % 3}`)));
        const rs = await depositMany(items);
        const base = leaves.length - size;
        expect(rs).toEqual(
          items.map((d, i) => ({ status: "stored", message: { ...d.message, index: base + i } })),
        );
      }
      await expectLog(store, leaves);
      expect(
        await store.depositMany([], 10, () => {
          throw new Error("nothing to sign");
        }),
      ).toEqual([]);
    });

    it("answers a repeated id within the batch, and a stored one, as duplicates", async () => {
      const stored = message("bob");
      await depositMany([item(stored)]);
      const a = message("bob");
      const rs = await depositMany([
        item(a),
        item({ ...a, envelope: randomBytes(8), at: NOW + 1 }),
        item({ ...stored }),
        item({ ...a, to: "alice" }),
      ]);
      expect(rs).toEqual([
        { status: "stored", message: { ...a, index: 1 } },
        { status: "duplicate", message: { ...a, index: 1 } },
        { status: "duplicate", message: { ...stored, index: 0 } },
        { status: "stored", message: { ...a, to: "alice", index: 2 } },
      ]);
      expect(await store.logSize()).toBe(3);
      await expectLog(store, leaves);
    });

    it("stores again an id whose stored copy expired (not swept yet), once per batch", async () => {
      const old = message("bob", { expires: NOW + 10 });
      await depositMany([item(old)]);
      const fresh = { ...message("bob"), id: old.id, at: NOW + 11 };
      const rs = await depositMany([item(fresh), item({ ...fresh, envelope: randomBytes(8) })]);
      expect(rs).toEqual([
        { status: "stored", message: { ...fresh, index: 1 } },
        { status: "duplicate", message: { ...fresh, index: 1 } },
      ]);
      expect(await store.fetch("bob", 10, NOW)).toEqual([{ ...fresh, index: 1 }]);
      await expectLog(store, leaves);
    });

    it("counts earlier items of the batch against the quota, per mailbox", async () => {
      await depositMany([item(message("bob"))], 3);
      const rs = await depositMany(
        [
          item(message("bob")),
          item(message("alice")),
          item(message("bob")),
          item(message("bob")),
          item(message("alice")),
        ],
        3,
      );
      expect(rs.map((r) => r.status)).toEqual(["stored", "stored", "stored", "quota", "stored"]);
      expect(await store.fetch("bob", 10, NOW)).toHaveLength(3);
      await expectLog(store, leaves);
    });

    it("does not count items that expired before a later item's time", async () => {
      const rs = await depositMany(
        [
          item(message("bob", { expires: NOW + 10 })),
          item(message("bob", { at: NOW + 5 })),
          item(message("bob", { at: NOW + 11 })),
        ],
        1,
      );
      expect(rs.map((r) => r.status)).toEqual(["stored", "quota", "stored"]);
    });

    it("reads many log nodes at once, in the order asked", async () => {
      await depositMany(Array.from({ length: 6 }, () => item()));
      const keys = [
        { level: 2, index: 0 },
        { level: 0, index: 5 },
        { level: 1, index: 2 },
        { level: 0, index: 0 },
      ];
      const got = await store.nodes(keys);
      for (const [i, k] of keys.entries())
        expect(got[i]).toEqual(await store.node(k.level, k.index));
      expect(await store.nodes([])).toEqual([]);
      await expect(store.nodes([{ level: 0, index: 6 }])).rejects.toThrow(/missing/);
    });
  });
}
