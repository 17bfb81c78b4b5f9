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

/** A synchronous lookup of complete-subtree hashes, as `NodeSource.node`. */
export type NodeLookup = (level: number, index: number) => Uint8Array;

const PLACEHOLDER = new Uint8Array(HASH_LENGTH);
/** Lookups that only record which nodes are read (`nodesRead`): their ranges hash nothing. */
const RECORDERS = new WeakSet<NodeLookup>();

/**
 * MTH(D[lo:hi]) from stored nodes (the empty tree hashes to SHA-256("")), remembered per
 * range: the proofs of many leaves in one tree share most of their subtrees.
 */
class Ranges {
  private readonly memo = new Map<string, Uint8Array>();
  private readonly dry: boolean;

  constructor(private readonly get: NodeLookup) {
    this.dry = RECORDERS.has(get);
  }

  hash(lo: number, hi: number): Uint8Array {
    const n = hi - lo;
    if (n === 0) return sha256();
    if (isPow2(n) && lo % n === 0) return this.get(Math.log2(n), lo / n);
    const key = `${lo}:${hi}`;
    let h = this.memo.get(key);
    if (!h) {
      const k = split(n);
      const left = this.hash(lo, lo + k);
      const right = this.hash(lo + k, hi);
      h = this.dry ? PLACEHOLDER : nodeHash(left, right);
      this.memo.set(key, h);
    }
    return h;
  }

  /** PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1. */
  path(m: number, lo: number, hi: number, out: Uint8Array[]): void {
    if (hi - lo <= 1) return;
    const k = split(hi - lo);
    if (m < k) {
      this.path(m, lo, lo + k, out);
      out.push(this.hash(lo + k, hi));
    } else {
      this.path(m - k, lo + k, hi, out);
      out.push(this.hash(lo, lo + k));
    }
  }

  /** SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1. */
  subproof(m: number, lo: number, hi: number, b: boolean, out: Uint8Array[]): void {
    const n = hi - lo;
    if (m === n) {
      if (!b) out.push(this.hash(lo, hi));
      return;
    }
    const k = split(n);
    if (m <= k) {
      this.subproof(m, lo, lo + k, b, out);
      out.push(this.hash(lo + k, hi));
    } else {
      this.subproof(m - k, lo + k, hi, false, out);
      out.push(this.hash(lo, lo + k));
    }
  }
}

/** The root of the tree of `size` leaves, from stored nodes only. */
export function rootWith(get: NodeLookup, size: number): Uint8Array {
  return new Ranges(get).hash(0, size);
}

/**
 * Inclusion proofs of `indexes` in the tree of `size` (RFC 9162 §2.1.3.1) and, with
 * `since`, the consistency proof from that size (§2.1.4.1), sharing their subtrees.
 */
export function proofsWith(
  get: NodeLookup,
  indexes: number[],
  size: number,
  since?: number,
): { inclusion: Uint8Array[][]; consistency: Uint8Array[] | undefined } {
  const t = new Ranges(get);
  const inclusion = indexes.map((index) => {
    if (!(index >= 0 && index < size)) throw new RangeError("index out of range");
    const out: Uint8Array[] = [];
    t.path(index, 0, size, out);
    return out;
  });
  let consistency: Uint8Array[] | undefined;
  if (since !== undefined) {
    if (!(since > 0 && since <= size)) throw new RangeError("sizes out of range");
    consistency = [];
    t.subproof(since, 0, size, true, consistency);
  }
  return { inclusion, consistency };
}

/** The inclusion proof of leaf `index` in the tree of `size` (RFC 9162 §2.1.3.1). */
export function inclusionProofWith(get: NodeLookup, index: number, size: number): Uint8Array[] {
  return proofsWith(get, [index], size).inclusion[0]!;
}

/** The consistency proof from `oldSize` to `newSize` (RFC 9162 §2.1.4.1). */
export function consistencyProofWith(
  get: NodeLookup,
  oldSize: number,
  newSize: number,
): Uint8Array[] {
  return proofsWith(get, [], newSize, oldSize).consistency!;
}

/**
 * The stored nodes `compute` reads, found by running it once without hashing: a store can
 * then fetch all of them at once, and `compute` runs again on the real hashes.
 */
export function nodesRead(
  compute: (get: NodeLookup) => unknown,
): { level: number; index: number }[] {
  const seen = new Map<string, { level: number; index: number }>();
  const recorder: NodeLookup = (level, index) => {
    seen.set(`${level}/${index}`, { level, index });
    return PLACEHOLDER;
  };
  RECORDERS.add(recorder);
  compute(recorder);
  return [...seen.values()];
}

/** Runs `compute` on the nodes of `src`, fetched first, concurrently. */
async function withNodes<T>(src: NodeSource, compute: (get: NodeLookup) => T): Promise<T> {
  const keys = nodesRead(compute);
  const hashes = await Promise.all(keys.map((k) => src.node(k.level, k.index)));
  const got = new Map(keys.map((k, i) => [`${k.level}/${k.index}`, hashes[i]!]));
  return compute((level, index) => got.get(`${level}/${index}`)!);
}

export function root(src: NodeSource, size: number): Promise<Uint8Array> {
  return withNodes(src, (get) => rootWith(get, size));
}

export function inclusionProof(
  src: NodeSource,
  index: number,
  size: number,
): Promise<Uint8Array[]> {
  if (!(index >= 0 && index < size)) throw new RangeError("index out of range");
  return withNodes(src, (get) => inclusionProofWith(get, index, size));
}

export function consistencyProof(
  src: NodeSource,
  oldSize: number,
  newSize: number,
): Promise<Uint8Array[]> {
  if (!(oldSize > 0 && oldSize <= newSize)) throw new RangeError("sizes out of range");
  return withNodes(src, (get) => consistencyProofWith(get, oldSize, newSize));
}

/**
 * RFC 9162 §2.1.3.2, the root half: the root of the tree of `size` in which `leaf`
 * (already leaf-hashed) is at `index` with this proof; undefined if the proof cannot be
 * one (wrong length, an element not 32 bytes, index or size out of range).
 */
export function rootFromInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: Uint8Array[],
): Uint8Array | undefined {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size))
    return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (p.length !== HASH_LENGTH || sn === 0) return undefined;
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
  return sn === 0 ? r : undefined;
}

/** RFC 9162 §2.1.3.2: true if `leaf` (already leaf-hashed) is at `index` in the tree `root` of `size`. */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: Uint8Array[],
  expectedRoot: Uint8Array,
): boolean {
  const r = rootFromInclusion(leaf, index, size, proof);
  return r !== undefined && equal(r, expectedRoot);
}

/** The tree over `leaves` (already leaf-hashed) in memory: every complete subtree's hash. */
export function memoryTree(leaves: Uint8Array[]): NodeLookup {
  const levels: Uint8Array[][] = [leaves];
  for (let below = leaves; below.length > 1; ) {
    const up: Uint8Array[] = [];
    for (let i = 0; i + 1 < below.length; i += 2) up.push(nodeHash(below[i]!, below[i + 1]!));
    levels.push(up);
    below = up;
  }
  return (level, index) => {
    const h = levels[level]?.[index];
    if (!h) throw new RangeError(`no node ${level}/${index}`);
    return h;
  };
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

/**
 * The stored nodes that appending any number of leaves to a tree of `size` can need: its
 * complete subtrees, one per set bit of `size` (the right frontier), highest level first.
 * Every other left sibling is completed by the append itself.
 */
export function frontier(size: number): { level: number; index: number }[] {
  const out = [];
  for (let level = 0, n = size; n > 0; level++, n = Math.floor(n / 2))
    if (n % 2 === 1) out.push({ level, index: n - 1 });
  return out.reverse();
}

/**
 * The nodes that appending `leaves` at `size`, `size + 1`, … completes, given the hashes
 * of `frontier(size)` in the same order: what `nodesForAppend` gives leaf by leaf, for a
 * store that appends a batch in one transaction.
 */
export function nodesForAppendMany(
  size: number,
  leaves: Uint8Array[],
  frontierHashes: Uint8Array[],
): { level: number; index: number; hash: Uint8Array }[] {
  const known = new Map<string, Uint8Array>();
  frontier(size).forEach((f, i) => {
    const h = frontierHashes[i];
    if (!h) throw new RangeError("missing frontier node for append");
    known.set(`${f.level}/${f.index}`, h);
  });
  const out: { level: number; index: number; hash: Uint8Array }[] = [];
  leaves.forEach((leaf, j) => {
    let i = size + j;
    let h = leafHash(leaf);
    out.push({ level: 0, index: i, hash: h });
    known.set(`0/${i}`, h);
    for (let level = 0; i % 2 === 1; level++) {
      const sib = known.get(`${level}/${i - 1}`);
      if (!sib) throw new RangeError("missing sibling for append");
      h = nodeHash(sib, h);
      i = (i - 1) / 2;
      out.push({ level: level + 1, index: i, hash: h });
      known.set(`${level + 1}/${i}`, h);
    }
  });
  return out;
}
