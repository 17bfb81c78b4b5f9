/**
 * Rate-limit hits counted in one store write per turn (relay/limits.ts HitCounter): the
 * same answers as one write per hit, fewer writes, and a failed write fails its hits.
 */
import { describe, expect, it } from "vitest";
import { HitCounter } from "../../relay/limits.js";
import { StoreUnavailable } from "../../relay/storage/errors.js";
import { SqliteStore } from "../../relay/storage/sqlite.js";
import type { RateLimitHits, RelayStore } from "../../relay/storage/types.js";
import { patchedStore } from "./helpers.js";

const NOW = 1_700_000_040_000;
const W = 60_000;

/** A real store that records each addHits call. */
function recording() {
  const base = SqliteStore.open(":memory:");
  const calls: RateLimitHits[][] = [];
  let failing = false;
  const store: RelayStore = patchedStore(base, {
    addHits: (hits: RateLimitHits[], now: number) => {
      calls.push(hits);
      if (failing) return Promise.reject(new StoreUnavailable("disk I/O error"));
      return base.addHits(hits, now);
    },
  });
  return { store, calls, fail: (on: boolean) => (failing = on) };
}

describe("HitCounter", () => {
  it("counts a burst in one write and admits exactly the first `limit` hits of each key", async () => {
    const r = recording();
    const hits = new HitCounter(r.store, () => NOW);
    const a = Array.from({ length: 20 }, () => hits.hit("write:a", W, 7));
    const b = Array.from({ length: 3 }, () => hits.hit("write:b", W, 7));
    expect(await Promise.all(a)).toEqual([...Array(7).fill(true), ...Array(13).fill(false)]);
    expect(await Promise.all(b)).toEqual([true, true, true]);
    expect(r.calls).toEqual([
      [
        { key: "write:a", windowMs: W, add: 20 },
        { key: "write:b", windowMs: W, add: 3 },
      ],
    ]);
    // The window remembers: the next turn's hits continue from 20 and 3.
    expect(await hits.hit("write:b", W, 4)).toBe(true);
    expect(await hits.hit("write:b", W, 4)).toBe(false);
    expect(await hits.hit("write:a", W, 100)).toBe(true);
    expect(hits.writes).toBe(4);
  });

  it("judges as one write per hit would, in any order of keys", async () => {
    const r = recording();
    const batched = new HitCounter(r.store, () => NOW);
    const oneByOne = SqliteStore.open(":memory:");
    const keys = Array.from({ length: 60 }, (_, i) => `k${(i * 7) % 5}`);
    const got = await Promise.all(keys.map((k) => batched.hit(k, W, 9)));
    const want: boolean[] = [];
    for (const k of keys)
      want.push((await oneByOne.addHits([{ key: k, windowMs: W, add: 1 }], NOW))[0]! <= 9);
    expect(got).toEqual(want);
    expect(r.calls).toHaveLength(1);
  });

  it("refuses a key used with two window lengths, and counts the rest", async () => {
    const r = recording();
    const hits = new HitCounter(r.store, () => NOW);
    const [a, b, c] = await Promise.allSettled([
      hits.hit("k", W, 5),
      hits.hit("k", 1000, 5),
      hits.hit("k", W, 5),
    ]);
    expect(a).toEqual({ status: "fulfilled", value: true });
    expect((b as PromiseRejectedResult).reason).toBeInstanceOf(Error);
    expect(c).toEqual({ status: "fulfilled", value: true });
    expect(r.calls).toEqual([[{ key: "k", windowMs: W, add: 2 }]]);
  });

  it("fails every hit of a failed write with the store's error, and counts again after", async () => {
    const r = recording();
    const hits = new HitCounter(r.store, () => NOW);
    r.fail(true);
    const failed = await Promise.allSettled([hits.hit("x", W, 5), hits.hit("y", W, 5)]);
    for (const f of failed)
      expect((f as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailable);
    r.fail(false);
    expect(await hits.hit("x", W, 1)).toBe(true);
    expect(await hits.hit("x", W, 1)).toBe(false);
  });
});
