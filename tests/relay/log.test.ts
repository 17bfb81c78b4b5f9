/**
 * RelayLog (relay/log.ts): proofs served from cached nodes and one batched read equal the
 * store's own, and a checkpoint kept in memory never hides a newer stored one that the
 * client has already seen (`since`).
 */
import { describe, expect, it } from "vitest";
import * as merkle from "../../protocol/merkle.js";
import { RelayLog } from "../../relay/log.js";
import { SqliteStore } from "../../relay/storage/sqlite.js";
import { relaySigner } from "./helpers.js";
import { leaf, message, theirReceipts } from "./store-suite.js";

async function filled(n: number) {
  const store = SqliteStore.open(":memory:");
  const items = Array.from({ length: n }, (_, i) => ({
    message: message(`box${i % 3}`),
    leaf: leaf(),
  }));
  await store.depositMany(items, 1000, theirReceipts(items));
  return store;
}

describe("RelayLog", () => {
  it("serves the same proofs as the store, with one batched node read", async () => {
    const store = await filled(37);
    let reads = 0;
    const counted = Object.assign(Object.create(store), {
      nodes: (keys: { level: number; index: number }[]) => {
        reads++;
        return store.nodes(keys);
      },
    });
    const log = new RelayLog(counted, await relaySigner(), Date.now);
    const indexes = [0, 5, 17, 36, 20];
    for (const size of [37, 21]) {
      const got = await log.proofs(
        indexes.filter((i) => i < size),
        size,
        13,
      );
      for (const [k, i] of indexes.filter((x) => x < size).entries())
        expect(got.inclusion[k]).toEqual(await merkle.inclusionProof(store, i, size));
      expect(got.consistency).toEqual(await merkle.consistencyProof(store, 13, size));
    }
    expect(reads).toBe(2);
    // Everything is cached now: no read at all.
    await log.proofs(indexes, 37, 37);
    expect(reads).toBe(2);
    expect((await log.proofs([], 37, 37)).consistency).toEqual([]);
  });

  it("signs a checkpoint only when needed, and reads the store when `since` is newer", async () => {
    const store = await filled(10);
    const signer = await relaySigner();
    const log = new RelayLog(store, signer, Date.now);
    const first = await log.covering(10);
    expect(first!.size).toBe(10);
    expect(await log.covering(4)).toBe(first);
    // Another process appends and signs a newer checkpoint.
    const one = [{ message: message("box0"), leaf: leaf() }];
    await store.depositMany(one, 1000, theirReceipts(one));
    const other = new RelayLog(store, signer, Date.now);
    const newer = await other.covering(11);
    expect(newer!.size).toBe(11);
    // A client that saw the newer one gets at least it, without a new signature.
    expect(await log.covering(4)).toBe(first);
    expect((await log.covering(4, 11))!.size).toBe(11);
    expect((await store.latestCheckpoint())!.size).toBe(11);
  });
});
