/**
 * Test vectors for relay receipts (docs/protocol.md §13.2), written by scripts/vectors.ts
 * with its seeded randomness: `receipt.json`. Each vector is a receipt to check for a
 * receipt body under the relay's Ed25519 public key.
 */
import { toHex } from "../protocol/bytes.js";
import { batchReceipts, decodeReceipt, encodeReceipt } from "../protocol/receipt.js";
import { Context, receiptBody } from "../protocol/relay-api.js";
import { ed25519 } from "../protocol/sign.js";

type Write = (name: string, description: string, vectors: unknown[]) => void;

export async function receiptVectors(
  write: Write,
  rand: (n: number) => Uint8Array,
  now: number,
): Promise<void> {
  const seed = rand(32);
  const publicKey = toHex(await ed25519.publicKey(seed));
  const sign = (b: Uint8Array) => ed25519.sign(seed, Context.receipt, b);
  const bodies = ["alice", "bob", "alice", "carol", "bob"].map((to, i) =>
    receiptBody({ id: rand(16), to, envelopeHash: rand(32), at: now + i }),
  );
  const receipts = await batchReceipts(bodies, sign);
  const [alone] = await batchReceipts([bodies[0]!], sign);
  const vectors: unknown[] = receipts.map((r, i) => ({
    expect: "success",
    publicKey,
    body: toHex(bodies[i]!),
    receipt: toHex(r),
    comment: `position ${i} of a batch of 5`,
  }));
  const third = decodeReceipt(receipts[2]!);
  vectors.push(
    {
      expect: "success",
      publicKey,
      body: toHex(bodies[0]!),
      receipt: toHex(alone!),
      comment: "a batch of one: no path",
    },
    {
      expect: "bad signature",
      publicKey,
      body: toHex(bodies[3]!),
      receipt: toHex(receipts[2]!),
      comment: "another deposit's receipt of the same batch",
    },
    {
      expect: "bad signature",
      publicKey,
      body: toHex(bodies[2]!),
      receipt: toHex(encodeReceipt({ ...third, index: 3 })),
      comment: "position changed",
    },
    {
      expect: "bad signature",
      publicKey: toHex(await ed25519.publicKey(rand(32))),
      body: toHex(bodies[2]!),
      receipt: toHex(receipts[2]!),
      comment: "another relay's key",
    },
    {
      expect: "bad encoding",
      publicKey,
      body: toHex(bodies[2]!),
      receipt: toHex(receipts[2]!.subarray(0, receipts[2]!.length - 1)),
      comment: "truncated path",
    },
    {
      expect: "bad encoding",
      publicKey,
      body: toHex(bodies[2]!),
      receipt: toHex(encodeReceipt({ ...third, index: 5 })),
      comment: "position not below the batch size",
    },
  );
  write("receipt.json", "Relay receipts (§13.2): `receipt` for `body` under `publicKey`.", vectors);
}
