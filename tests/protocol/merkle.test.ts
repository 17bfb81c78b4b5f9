import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8 } from "../../protocol/bytes.js";
import * as merkle from "../../protocol/merkle.js";

/** A log kept in memory exactly as the relay keeps it: complete subtree hashes. */
async function buildLog(n: number) {
  const nodes = new Map<string, Uint8Array>();
  const src: merkle.NodeSource = {
    async node(level, index) {
      const h = nodes.get(`${level}/${index}`);
      if (!h) throw new Error(`missing node ${level}/${index}`);
      return h;
    },
  };
  const leaves = Array.from({ length: n }, (_, i) => utf8(`leaf ${i}`));
  for (let i = 0; i < n; i++) {
    const siblings = merkle.siblingsForAppend(i).map((n) => nodes.get(`${n.level}/${n.index}`)!);
    for (const x of merkle.nodesForAppend(i, leaves[i]!, siblings))
      nodes.set(`${x.level}/${x.index}`, x.hash);
  }
  return { src, leaves };
}

/** RFC 9162 MTH, straight from the definition. */
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return merkle.leafHash(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return merkle.nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

describe("Merkle log (RFC 9162)", () => {
  it("computes the same root as the definition, for every size up to 70", async () => {
    const { src, leaves } = await buildLog(70);
    for (let n = 1; n <= 70; n++)
      expect(await merkle.root(src, n)).toEqual(mth(leaves.slice(0, n)));
  });

  it("proves and verifies inclusion of every leaf in every tree size up to 40", async () => {
    const { src, leaves } = await buildLog(40);
    for (let n = 1; n <= 40; n++) {
      const r = await merkle.root(src, n);
      for (let i = 0; i < n; i++) {
        const proof = await merkle.inclusionProof(src, i, n);
        const leaf = merkle.leafHash(leaves[i]!);
        expect(merkle.verifyInclusion(leaf, i, n, proof, r)).toBe(true);
        expect(merkle.verifyInclusion(leaf, (i + 1) % n, n, proof, r) && n > 1).toBe(false);
      }
    }
  });

  it("proves and verifies consistency between every pair of sizes up to 33", async () => {
    const { src } = await buildLog(33);
    for (let m = 1; m <= 33; m++) {
      for (let n = m; n <= 33; n++) {
        const proof = await merkle.consistencyProof(src, m, n);
        const [a, b] = [await merkle.root(src, m), await merkle.root(src, n)];
        expect(merkle.verifyConsistency(m, n, a, b, proof), `${m}->${n}`).toBe(true);
        if (m < n) expect(merkle.verifyConsistency(m, n, b, a, proof)).toBe(false);
      }
    }
  });

  it("rejects any changed proof element, index or length", async () => {
    const { src, leaves } = await buildLog(27);
    await fc.assert(
      fc.asyncProperty(fc.nat(26), fc.nat(31), fc.nat(7), async (i, which, bit) => {
        const proof = await merkle.inclusionProof(src, i, 27);
        const r = await merkle.root(src, 27);
        const leaf = merkle.leafHash(leaves[i]!);
        if (proof.length === 0) return;
        const bad = proof.map((p) => p.slice());
        bad[which % bad.length]![bit % 32]! ^= 1;
        expect(merkle.verifyInclusion(leaf, i, 27, bad, r)).toBe(false);
        // (The size itself is bound by the signed checkpoint that carries the root.)
        expect(merkle.verifyInclusion(leaf, i ^ 1, 27, proof, r)).toBe(false);
        expect(merkle.verifyInclusion(leaf, i, 27, proof.slice(1), r)).toBe(false);
        expect(merkle.verifyInclusion(leaf, i, 27, [...proof, r], r)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
