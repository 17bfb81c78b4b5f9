/**
 * Batch receipts (protocol/receipt.ts, docs/protocol.md §13.2): one Ed25519 signature
 * per batch, and each receipt verifies for its own body only, under the relay's key only.
 */
import { describe, expect, it } from "vitest";
import { randomBytes } from "../../protocol/bytes.js";
import { ProtocolError } from "../../protocol/errors.js";
import * as merkle from "../../protocol/merkle.js";
import {
  batchReceipts,
  decodeReceipt,
  encodeReceipt,
  receiptBatchBody,
  verifyReceipt,
} from "../../protocol/receipt.js";
import { Context, MAX_RECEIPT_LENGTH } from "../../protocol/relay-api.js";
import { ed25519 } from "../../protocol/sign.js";

const seed = randomBytes(32);
const other = randomBytes(32);
const bodies = (n: number) => Array.from({ length: n }, (_, i) => randomBytes(60 + (i % 9)));

async function receiptsFor(list: Uint8Array[], key = seed) {
  let signatures = 0;
  const receipts = await batchReceipts(list, (b) => {
    signatures++;
    return ed25519.sign(key, Context.receipt, b);
  });
  return { receipts, signatures };
}

function expectEncodingError(f: () => unknown) {
  try {
    f();
  } catch (e) {
    expect(ProtocolError.is(e) && e.code === "BAD_ENCODING").toBe(true);
    return;
  }
  throw new Error("decoded");
}

describe("batch receipts", () => {
  const pub = ed25519.publicKey(seed);
  const otherPub = ed25519.publicKey(other);

  it("verifies every receipt of batches of 1 to 40 for its own body, with one signature each", async () => {
    for (let n = 1; n <= 40; n++) {
      const list = bodies(n);
      const { receipts, signatures } = await receiptsFor(list);
      expect(signatures).toBe(1);
      for (const [i, r] of receipts.entries()) {
        expect(await verifyReceipt(await pub, list[i]!, r)).toBe(true);
        // Not for another body of the batch, nor under another key.
        if (n > 1) expect(await verifyReceipt(await pub, list[(i + 1) % n]!, r)).toBe(false);
        expect(await verifyReceipt(await otherPub, list[i]!, r)).toBe(false);
        const d = decodeReceipt(r);
        expect({ size: d.size, index: d.index }).toEqual({ size: n, index: i });
        expect(encodeReceipt(d)).toEqual(r);
      }
    }
  });

  it("signs the batch body: size and the RFC 9162 root of the bodies", async () => {
    const list = bodies(5);
    const { receipts } = await receiptsFor(list);
    const d = decodeReceipt(receipts[0]!);
    const tree = merkle.memoryTree(list.map(merkle.leafHash));
    const body = receiptBatchBody(5, merkle.rootWith(tree, 5));
    expect(body).toHaveLength(34);
    expect(await ed25519.verify(await pub, Context.receipt, body, d.signature)).toBe(true);
    // A batch of one is the signature over the leaf hash itself, with no path.
    const [one] = (await receiptsFor(list.slice(0, 1))).receipts;
    expect(one).toHaveLength(68);
    expect(decodeReceipt(one!).path).toEqual([]);
  });

  it("refuses every flipped byte, a borrowed path and a moved position", async () => {
    const list = bodies(7);
    const { receipts } = await receiptsFor(list);
    const r = receipts[3]!;
    for (let i = 0; i < r.length; i++) {
      const bad = r.slice();
      bad[i]! ^= 0x01;
      expect(await verifyReceipt(await pub, list[3]!, bad)).toBe(false);
    }
    const mine = decodeReceipt(r);
    const theirs = decodeReceipt(receipts[4]!);
    expect(
      await verifyReceipt(await pub, list[3]!, encodeReceipt({ ...mine, path: theirs.path })),
    ).toBe(false);
    expect(await verifyReceipt(await pub, list[3]!, encodeReceipt({ ...mine, index: 4 }))).toBe(
      false,
    );
    expect(await verifyReceipt(await pub, list[3]!, encodeReceipt({ ...mine, size: 8 }))).toBe(
      false,
    );
  });

  it("decodes strictly, and verification answers false, never throws, for malformed bytes", async () => {
    const list = bodies(3);
    const { receipts } = await receiptsFor(list);
    const r = receipts[0]!;
    const malformed = [
      new Uint8Array(0),
      r.subarray(0, 67),
      r.subarray(0, r.length - 1),
      new Uint8Array([...r, 0]),
      new Uint8Array([...r, ...new Uint8Array(31)]),
      encodeReceipt({ ...decodeReceipt(r), size: 0, index: 0 }),
      encodeReceipt({ ...decodeReceipt(r), index: 3 }),
      encodeReceipt({ ...decodeReceipt(r), path: Array(17).fill(new Uint8Array(32)) }),
    ];
    for (const m of malformed) {
      expectEncodingError(() => decodeReceipt(m));
      expect(await verifyReceipt(await pub, list[0]!, m)).toBe(false);
    }
    expect(MAX_RECEIPT_LENGTH).toBe(68 + 32 * 16);
  });

  it("refuses empty and oversized batches", async () => {
    await expect(receiptsFor([])).rejects.toThrow(RangeError);
    await expect(receiptsFor(Array(65_536).fill(new Uint8Array(1)))).rejects.toThrow(RangeError);
  });
});
