/**
 * Receipts signed on a worker thread (relay/signing-thread.ts): the same bytes as signing
 * on the event loop, in order, per key, and none lost when the worker goes away.
 */
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { concat } from "../../protocol/bytes.js";
import { Context } from "../../protocol/relay-api.js";
import { ed25519 } from "../../protocol/sign.js";
import { contextPrefix, edSign, privateKey } from "../../relay/ed25519.js";
import { RelaySigner } from "../../relay/signer.js";
import { OFF_THREAD_MIN, signMany, stopSigningThread } from "../../relay/signing-thread.js";

const messages = (n: number) =>
  Array.from({ length: n }, (_, i) => new Uint8Array(randomBytes(40 + (i % 50))));

afterAll(() => stopSigningThread());

describe("signing thread", () => {
  it("signs batches large and small exactly as edSign does on this thread", async () => {
    const seed = new Uint8Array(randomBytes(32));
    const key = privateKey(seed);
    for (const n of [1, OFF_THREAD_MIN - 1, OFF_THREAD_MIN, 200]) {
      const m = messages(n);
      const prefixed = m.map((x) => concat(contextPrefix(Context.receipt), x));
      const got = await signMany(key, prefixed);
      expect(got).toEqual(m.map((x) => edSign(key, Context.receipt, x)));
    }
  });

  it("keeps keys and batches apart when many are in flight at once", async () => {
    const signers = await Promise.all([RelaySigner.generate(), RelaySigner.generate()]);
    const batches = Array.from({ length: 12 }, (_, i) => ({ who: i % 2, bodies: messages(20) }));
    const signed = await Promise.all(batches.map((b) => signers[b.who]!.signReceipts(b.bodies)));
    for (const [i, b] of batches.entries()) {
      const s = signers[b.who]!;
      expect(signed[i]).toHaveLength(b.bodies.length);
      for (const [j, body] of b.bodies.entries()) {
        expect(signed[i]![j]).toEqual(s.signReceiptSync(body));
        expect(await ed25519.verify(s.edPublic, Context.receipt, body, signed[i]![j]!)).toBe(true);
        // And never with the other relay's key.
        const other = signers[1 - b.who]!;
        expect(await ed25519.verify(other.edPublic, Context.receipt, body, signed[i]![j]!)).toBe(
          false,
        );
      }
    }
  });

  it("signs every batch in flight when the worker is stopped, and starts a new one after", async () => {
    const signer = await RelaySigner.generate();
    const bodies = [messages(50), messages(50), messages(50)];
    const inFlight = bodies.map((b) => signer.signReceipts(b));
    await stopSigningThread();
    const done = await Promise.all(inFlight);
    for (const [i, b] of bodies.entries())
      expect(done[i]).toEqual(b.map((x) => signer.signReceiptSync(x)));
    const again = messages(30);
    expect(await signer.signReceipts(again)).toEqual(again.map((x) => signer.signReceiptSync(x)));
  });
});
