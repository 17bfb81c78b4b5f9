/**
 * Deposit receipts (docs/protocol.md §13.2). A relay signs the receipts of a batch of
 * deposits with one Ed25519 signature: it builds the RFC 9162 Merkle tree over the
 * batch's receipt bodies (merkle.ts), signs the batch body `u16 n || MTH`, and gives each
 * deposit that signature, its position and its audit path. A verifier recomputes the
 * root from its own receipt body and checks the one signature. One signature per batch
 * instead of one per deposit: the group commit's batch (relay/deposits.ts) is the batch.
 *
 * Receipt, `68 + 32·k` bytes:
 *
 *   u16 n (batch size, ≥ 1) · u16 i (position, < n) · 64 signature · k × 32 audit path
 */
import { Reader, Writer } from "./bytes.js";
import { fail } from "./errors.js";
import * as merkle from "./merkle.js";
import { Context, MAX_RECEIPT_BATCH, MAX_RECEIPT_PATH } from "./relay-api.js";
import { ED25519_SIGNATURE_LENGTH, ed25519 } from "./sign.js";

export interface Receipt {
  /** Receipts in the batch. */
  size: number;
  /** This receipt's position in the batch. */
  index: number;
  signature: Uint8Array;
  path: Uint8Array[];
}

/** What the relay's Ed25519 key signs, with context `receipt`: `u16 n || MTH`, 34 bytes. */
export function receiptBatchBody(size: number, root: Uint8Array): Uint8Array {
  return new Writer().u16(size).raw(root, merkle.HASH_LENGTH).finish();
}

export function encodeReceipt(r: Receipt): Uint8Array {
  const w = new Writer().u16(r.size).u16(r.index).raw(r.signature, ED25519_SIGNATURE_LENGTH);
  for (const p of r.path) w.raw(p, merkle.HASH_LENGTH);
  return w.finish();
}

/** Strict: sizes in range, the signature, whole 32-byte path elements and nothing else. */
export function decodeReceipt(bytes: Uint8Array): Receipt {
  const r = new Reader(bytes, "receipt");
  const size = r.u16();
  const index = r.u16();
  const signature = r.raw(ED25519_SIGNATURE_LENGTH);
  const rest = bytes.length - r.offset;
  if (size < 1 || index >= size) fail("BAD_ENCODING", "receipt: position out of range");
  if (rest % merkle.HASH_LENGTH !== 0 || rest / merkle.HASH_LENGTH > MAX_RECEIPT_PATH)
    fail("BAD_ENCODING", "receipt: bad audit path");
  const path: Uint8Array[] = [];
  while (r.offset < bytes.length) path.push(r.raw(merkle.HASH_LENGTH));
  r.end();
  return { size, index, signature, path };
}

/**
 * The receipts of `bodies` (receipt bodies, §13.2), in order, with one call of `sign`
 * (an Ed25519 signature, context `receipt`, over the batch body it is given).
 */
export async function batchReceipts(
  bodies: Uint8Array[],
  sign: (batchBody: Uint8Array) => Uint8Array | Promise<Uint8Array>,
): Promise<Uint8Array[]> {
  const batch = receiptBatch(bodies);
  return batch.receipts(await sign(batch.body));
}

/**
 * `batchReceipts` in two steps, for a signer that signs synchronously: the batch body to
 * sign, and the receipts once its signature is known.
 */
export function receiptBatch(bodies: Uint8Array[]): {
  body: Uint8Array;
  receipts: (signature: Uint8Array) => Uint8Array[];
} {
  const n = bodies.length;
  if (n < 1 || n > MAX_RECEIPT_BATCH) throw new RangeError("a receipt batch holds 1 to 65535");
  const tree = merkle.memoryTree(bodies.map(merkle.leafHash));
  return {
    body: receiptBatchBody(n, merkle.rootWith(tree, n)),
    receipts: (signature) => {
      const { inclusion } = merkle.proofsWith(
        tree,
        bodies.map((_, i) => i),
        n,
      );
      return inclusion.map((path, index) => encodeReceipt({ size: n, index, signature, path }));
    },
  };
}

/**
 * True if `receipt` is the relay's receipt for `body`: its path leads from the body to a
 * root whose batch body the relay's Ed25519 key signed. False, never a throw, otherwise.
 */
export async function verifyReceipt(
  relayKey: Uint8Array,
  body: Uint8Array,
  receipt: Uint8Array,
): Promise<boolean> {
  let r: Receipt;
  try {
    r = decodeReceipt(receipt);
  } catch {
    return false;
  }
  const root = merkle.rootFromInclusion(merkle.leafHash(body), r.index, r.size, r.path);
  if (!root) return false;
  return ed25519.verify(relayKey, Context.receipt, receiptBatchBody(r.size, root), r.signature);
}
