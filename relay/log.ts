/**
 * The relay's append-only log (docs/protocol.md §13.2): leaves are appended by the store
 * together with the data they describe; this module signs checkpoints and serves proofs.
 * ML-DSA signing costs about 12 ms, so a checkpoint is signed only when a reader needs
 * one that covers newer leaves, and concurrent readers share one signature.
 *
 * Reads are served from memory where that is safe: the latest checkpoint this process
 * knows, and the log's nodes, which never change once written (a bounded cache). Every
 * proof of one answer is computed from one batch of node reads (RelayStore.nodes).
 */

import * as merkle from "../protocol/merkle.js";
import { checkpointBody } from "../protocol/relay-api.js";
import type { RelaySigner } from "./signer.js";
import type { RelayStore, StoredCheckpoint } from "./storage/types.js";

/** Log nodes kept in memory: 32-byte hashes, a few MiB at most. */
const MAX_CACHED_NODES = 65_536;

export class RelayLog {
  private pending: Promise<StoredCheckpoint> | undefined;
  /** The latest checkpoint this process has read or signed. */
  private latest: StoredCheckpoint | undefined;
  private readonly nodes = new Map<string, Uint8Array>();

  constructor(
    private readonly store: RelayStore,
    private readonly signer: RelaySigner,
    private readonly now: () => number,
  ) {}

  /**
   * A checkpoint of at least `size` leaves (signing a new one if the latest does not
   * cover them) and, when one is stored, of at least `since` (never signed for it):
   * another relay process may have handed out a newer one than this process knows.
   */
  async covering(size: number, since = 0): Promise<StoredCheckpoint | undefined> {
    const known = this.latest;
    if (known && known.size >= size && known.size >= since) return known;
    const latest = await this.store.latestCheckpoint();
    this.remember(latest);
    if (size === 0 || (latest && latest.size >= size)) return latest;
    // Coalesce: whoever arrives while a checkpoint is being signed waits for it, then
    // checks again (it may need a later one).
    while (this.pending) {
      const cp = await this.pending;
      if (cp.size >= size) return cp;
    }
    this.pending = this.sign();
    try {
      return await this.pending;
    } finally {
      this.pending = undefined;
    }
  }

  private remember(cp: StoredCheckpoint | undefined): void {
    if (cp && !(this.latest && this.latest.size >= cp.size)) this.latest = cp;
  }

  private async sign(): Promise<StoredCheckpoint> {
    const size = await this.store.logSize();
    const root = await this.compute((get) => merkle.rootWith(get, size));
    const at = this.now();
    const signature = await this.signer.signCheckpoint(checkpointBody({ size, root, at }));
    const cp = { size, root, at, signature };
    await this.store.putCheckpoint(cp);
    // The stored one may be another process's of the same size or larger: either is good.
    this.remember(cp);
    return cp;
  }

  /** Runs `compute` on the log's nodes: cached ones from memory, the rest in one read. */
  private async compute<T>(compute: (get: merkle.NodeLookup) => T): Promise<T> {
    const key = (level: number, index: number) => `${level}/${index}`;
    const missing = merkle.nodesRead(compute).filter((k) => !this.nodes.has(key(k.level, k.index)));
    if (missing.length > 0) {
      const hashes = await this.store.nodes(missing);
      if (this.nodes.size + missing.length > MAX_CACHED_NODES) this.nodes.clear();
      for (const [i, k] of missing.entries()) this.nodes.set(key(k.level, k.index), hashes[i]!);
    }
    return compute((level, index) => {
      const h = this.nodes.get(key(level, index));
      if (!h) throw new Error(`log node ${level}/${index} is missing`);
      return h;
    });
  }

  /** Inclusion proofs of these leaves in the tree of `size`, and the consistency proof from `since`. */
  async proofs(
    indexes: number[],
    size: number,
    since?: number,
  ): Promise<{ inclusion: Uint8Array[][]; consistency: Uint8Array[] | undefined }> {
    return this.compute((get) => merkle.proofsWith(get, indexes, size, since));
  }

  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    return (await this.proofs([index], size)).inclusion[0]!;
  }

  async consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    return (await this.proofs([], to, from)).consistency!;
  }
}
