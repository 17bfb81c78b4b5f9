/**
 * The relay's append-only log (docs/protocol.md §13.2): leaves are appended by the store
 * together with the data they describe; this module signs checkpoints and serves proofs.
 * ML-DSA signing costs about 12 ms, so a checkpoint is signed only when a reader needs
 * one that covers newer leaves, and concurrent readers share one signature.
 */

import * as merkle from "../protocol/merkle.js";
import { checkpointBody } from "../protocol/relay-api.js";
import type { RelaySigner } from "./signer.js";
import type { RelayStore, StoredCheckpoint } from "./storage/types.js";

export class RelayLog {
  private pending: Promise<StoredCheckpoint> | undefined;

  constructor(
    private readonly store: RelayStore,
    private readonly signer: RelaySigner,
    private readonly now: () => number,
  ) {}

  /** The latest checkpoint, signing a new one if the latest does not cover `size` leaves. */
  async covering(size: number): Promise<StoredCheckpoint | undefined> {
    const latest = await this.store.latestCheckpoint();
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

  private async sign(): Promise<StoredCheckpoint> {
    const size = await this.store.logSize();
    const root = await merkle.root(this.store, size);
    const at = this.now();
    const signature = await this.signer.signCheckpoint(checkpointBody({ size, root, at }));
    const cp = { size, root, at, signature };
    await this.store.putCheckpoint(cp);
    return cp;
  }

  inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    return merkle.inclusionProof(this.store, index, size);
  }

  consistencyProof(from: number, to: number): Promise<Uint8Array[]> {
    return from === to ? Promise.resolve([]) : merkle.consistencyProof(this.store, from, to);
  }
}
