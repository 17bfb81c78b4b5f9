/**
 * The inbox answer written as bytes (relay/present.ts inboxBody): exactly the UTF-8 of
 * JSON.stringify of the same answer built as objects, for any stored messages, proofs and
 * checkpoint (as views at any offset, as rows hand them out), and valid under the client's
 * schema.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64url } from "../../protocol/bytes.js";
import type { InboxMessage } from "../../protocol/relay-api.js";
import { InboxResponse } from "../../protocol/relay-api.js";
import { inboxBody } from "../../relay/present.js";
import type { StoredCheckpoint, StoredMessage } from "../../relay/storage/types.js";

/** The protocol's own encoder, not the relay's: the oracle shares no code with inboxBody. */
const b = base64url.encode;

/** One message of the answer as an object, as §13.4 defines it: what inboxBody must write. */
function messageJson(m: StoredMessage, proof: Uint8Array[]): InboxMessage {
  return {
    id: b(m.id),
    at: m.at,
    index: m.index,
    envelope: b(m.envelope),
    receipt: b(m.receipt),
    proof: proof.map(b),
  };
}

/** Bytes as a view into a larger buffer, at an offset, as rows and proofs hand them out. */
const bytes = (min: number, max: number) =>
  fc.tuple(fc.uint8Array({ minLength: min, maxLength: max }), fc.nat({ max: 5 })).map(([a, k]) => {
    const around = new Uint8Array(k + a.length + 3).fill(0xee);
    around.set(a, k);
    return around.subarray(k, k + a.length);
  });
const checkpointJson = (c: StoredCheckpoint) => ({
  size: c.size,
  root: b(c.root),
  at: c.at,
  signature: b(c.signature),
});
const time = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const hashes = fc.array(bytes(32, 32), { maxLength: 20 });
const message: fc.Arbitrary<StoredMessage> = fc.record({
  id: bytes(16, 16),
  to: fc.string(),
  envelope: bytes(0, 300),
  at: time,
  expires: time,
  receipt: bytes(68, 68 + 32 * 4),
  index: time,
});
const checkpoint: fc.Arbitrary<StoredCheckpoint> = fc.record({
  size: time,
  root: bytes(32, 32),
  at: time,
  signature: bytes(10, 80),
});

/** The body as text; a byte sequence that is not UTF-8 throws. */
const text = (body: Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(body);

describe("inboxBody", () => {
  it("is the UTF-8 of JSON.stringify of the answer built as objects", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(message, hashes), { maxLength: 8 }),
        fc.option(checkpoint, { nil: undefined }),
        fc.option(hashes, { nil: undefined }),
        (rows, cp, consistency) => {
          const messages = rows.map(([m]) => m);
          const proofs = rows.map(([, p]) => p);
          const expected = JSON.stringify({
            messages: messages.map((m, i) => messageJson(m, proofs[i]!)),
            checkpoint: cp ? checkpointJson(cp) : null,
            consistency: consistency ? consistency.map(b) : null,
          });
          const body = inboxBody(messages, proofs, cp, consistency);
          expect(text(body)).toBe(expected);
          expect(Buffer.from(body).equals(Buffer.from(expected, "utf8"))).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("writes a node that several proofs share (one array) the same in each", () => {
    fc.assert(
      fc.property(
        fc.array(bytes(32, 32), { minLength: 1, maxLength: 6 }),
        fc.array(fc.tuple(message, fc.array(fc.nat(), { maxLength: 12 })), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (pool, rows, picks) => {
          const pick = (i: number) => pool[i % pool.length]!;
          const messages = rows.map(([m]) => m);
          const proofs = rows.map(([, p]) => p.map(pick));
          const consistency = picks.map(pick);
          const expected = JSON.stringify({
            messages: messages.map((m, i) => messageJson(m, proofs[i]!)),
            checkpoint: null,
            consistency: consistency.map(b),
          });
          expect(text(inboxBody(messages, proofs, undefined, consistency))).toBe(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("is valid under the client's schema for a real-sized answer", () => {
    const [m] = fc.sample(message, 1);
    const [cp] = fc.sample(checkpoint, 1);
    const msg = { ...m!, receipt: new Uint8Array(68), envelope: new Uint8Array(1100) };
    const body = inboxBody(
      [msg],
      [[new Uint8Array(32)]],
      { ...cp!, signature: new Uint8Array(3373) },
      [],
    );
    expect(InboxResponse.safeParse(JSON.parse(text(body))).success).toBe(true);
  });

  it("refuses a number that JSON would not write as the integer it is", () => {
    const [m] = fc.sample(message, 1);
    expect(() => inboxBody([{ ...m!, at: 1.5 }], [[]], undefined, undefined)).toThrow(RangeError);
    expect(() => inboxBody([{ ...m!, index: 2 ** 53 }], [[]], undefined, undefined)).toThrow(
      RangeError,
    );
  });
});
