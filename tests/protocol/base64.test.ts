/**
 * Strict base64 (protocol/bytes.ts): round trips, and every string is either the one
 * canonical form of some bytes or refused with BAD_ENCODING, checked against Node's codec.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64, base64url } from "../../protocol/bytes.js";
import { ProtocolError } from "../../protocol/errors.js";

const codecs = [
  { name: "base64url", codec: base64url, node: "base64url" as const },
  { name: "base64", codec: base64, node: "base64" as const },
];

describe.each(codecs)("$name", ({ codec, node }) => {
  it("round-trips any bytes, with the same text as Node", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const text = codec.encode(b);
        expect(text).toBe(Buffer.from(b).toString(node));
        expect(codec.decode(text)).toEqual(b);
      }),
      { numRuns: 2000 },
    );
  });

  it("accepts a string exactly when it is the canonical encoding of its bytes", () => {
    const alphabet = `${"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"}-_+/=.é\n`;
    const text = fc
      .array(fc.constantFrom(...alphabet.split("")), { maxLength: 24 })
      .map((a) => a.join(""));
    fc.assert(
      fc.property(text, (s) => {
        let decoded: Uint8Array | undefined;
        try {
          decoded = codec.decode(s);
        } catch (e) {
          expect(ProtocolError.is(e) && e.code === "BAD_ENCODING").toBe(true);
        }
        const canonical = Buffer.from(s, node).toString(node) === s;
        expect(decoded !== undefined).toBe(canonical);
        if (decoded) expect(Buffer.from(decoded).toString(node)).toBe(s);
      }),
      { numRuns: 5000 },
    );
  });
});
