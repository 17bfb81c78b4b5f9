/**
 * The relay's append-only log as a Merkle tree (RFC 9162 §2.1, the Certificate
 * Transparency v2 tree): leaf hash SHA-256(0x00 || leaf), node hash
 * SHA-256(0x01 || left || right). docs/protocol.md §13.
 *
 * The relay keeps the hash of every complete, aligned subtree (`NodeSource`), so roots
 * and proofs cost O(log n) lookups. Clients only verify: `verifyInclusion` and
 * `verifyConsistency` need nothing but the proof.
 */
import { equal } from "./bytes.js";
import { sha256 } from "./kdf.js";

export const HASH_LENGTH = 32;

export function leafHash(leaf: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(0), leaf);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(1), left, right);
}

/** Hashes of complete subtrees: `node(level, index)` covers leaves [index·2^level, (index+1)·2^level). */
export interface NodeSource {
  node(level: number, index: number): Promise<Uint8Array>;
}

/** The largest power of two strictly below n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/** MTH(D[lo:hi]); the empty tree hashes to SHA-256(""). */
async function rangeHash(src: NodeSource, lo: number, hi: number): Promise<Uint8Array> {
  const n = hi - lo;
  if (n === 0) return sha256();
  if (isPow2(n) && lo % n === 0) return src.node(Math.log2(n), lo / n);
  const k = split(n);
  return nodeHash(await rangeHash(src, lo, lo + k), await rangeHash(src, lo + k, hi));
}

export function root(src: NodeSource, size: number): Promise<Uint8Array> {
  return rangeHash(src, 0, size);
}

/** PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1. */
async function path(src: NodeSource, m: number, lo: number, hi: number): Promise<Uint8Array[]> {
  const n = hi - lo;
  if (n <= 1) return [];
  const k = split(n);
  if (m < k) return [...(await path(src, m, lo, lo + k)), await rangeHash(src, lo + k, hi)];
  return [...(await path(src, m - k, lo + k, hi)), await rangeHash(src, lo, lo + k)];
}

export function inclusionProof(
  src: NodeSource,
  index: number,
  size: number,
): Promise<Uint8Array[]> {
  if (!(index >= 0 && index < size)) throw new RangeError("index out of range");
  return path(src, index, 0, size);
}

/** SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1. */
async function subproof(
  src: NodeSource,
  m: number,
  lo: number,
  hi: number,
  b: boolean,
): Promise<Uint8Array[]> {
  const n = hi - lo;
  if (m === n) return b ? [] : [await rangeHash(src, lo, hi)];
  const k = split(n);
  if (m <= k) return [...(await subproof(src, m, lo, lo + k, b)), await rangeHash(src, lo + k, hi)];
  return [...(await subproof(src, m - k, lo + k, hi, false)), await rangeHash(src, lo, lo + k)];
}

export function consistencyProof(
  src: NodeSource,
  oldSize: number,
  newSize: number,
): Promise<Uint8Array[]> {
  if (!(oldSize > 0 && oldSize <= newSize)) throw new RangeError("sizes out of range");
  return subproof(src, oldSize, 0, newSize, true);
}

/** RFC 9162 §2.1.3.2: true if `leaf` (already leaf-hashed) is at `index` in the tree `root` of `size`. */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: Uint8Array[],
  expectedRoot: Uint8Array,
): boolean {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size))
    return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== HASH_LENGTH || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && equal(r, expectedRoot);
}

/** RFC 9162 §2.1.4.2: true if the tree (newSize, newRoot) extends (oldSize, oldRoot). */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: Uint8Array[],
): boolean {
  if (
    !(
      Number.isSafeInteger(oldSize) &&
      Number.isSafeInteger(newSize) &&
      oldSize > 0 &&
      oldSize <= newSize
    )
  )
    return false;
  if (oldSize === newSize) return proof.length === 0 && equal(oldRoot, newRoot);
  if (proof.length === 0 || proof.some((p) => p.length !== HASH_LENGTH)) return false;
  const path = isPow2(oldSize) ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return equal(fr, oldRoot) && equal(sr, newRoot) && sn === 0;
}

/** The stored nodes appending leaf `index` needs: the left siblings it completes. */
export function siblingsForAppend(index: number): { level: number; index: number }[] {
  const out = [];
  for (let i = index, level = 0; i % 2 === 1; i = (i - 1) / 2, level++)
    out.push({ level, index: i - 1 });
  return out;
}

/**
 * The nodes that appending leaf `index` completes (level 0 first), given the hashes of
 * `siblingsForAppend(index)` in the same order. Synchronous, so a store can run it
 * inside a transaction.
 */
export function nodesForAppend(
  index: number,
  leaf: Uint8Array,
  siblings: Uint8Array[],
): { level: number; index: number; hash: Uint8Array }[] {
  const out = [{ level: 0, index, hash: leafHash(leaf) }];
  let h = out[0]!.hash;
  let i = index;
  for (let level = 0; i % 2 === 1; level++) {
    const sib = siblings[level];
    if (!sib) throw new RangeError("missing sibling for append");
    h = nodeHash(sib, h);
    i = (i - 1) / 2;
    out.push({ level: level + 1, index: i, hash: h });
  }
  return out;
}
