/**
 * The relay's native strict base64url (relay/json.ts decodeBase64url) against the
 * protocol's (protocol/bytes.ts): the same strings accepted, with the same bytes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64url } from "../../protocol/bytes.js";
import { decodeBase64url } from "../../relay/json.js";

/** The protocol's decoder, as undefined for a refused string. */
function reference(s: string): Uint8Array | undefined {
  try {
    return base64url.decode(s);
  } catch {
    return undefined;
  }
}

describe("decodeBase64url", () => {
  it("decodes what the protocol encodes, into plain Uint8Arrays of their own", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => {
        const out = decodeBase64url(base64url.encode(b));
        expect(out).toEqual(b);
        expect(out?.constructor).toBe(Uint8Array);
        expect(out?.byteOffset).toBe(0);
        expect(out?.buffer.byteLength).toBe(b.length);
      }),
      { numRuns: 1000 },
    );
  });

  it("accepts exactly the strings the protocol accepts, with the same bytes", () => {
    const alphabet = `${"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"}-_+/=.é\n `;
    const text = fc
      .array(fc.constantFrom(...alphabet.split("")), { maxLength: 24 })
      .map((a) => a.join(""));
    fc.assert(
      fc.property(text, (s) => {
        expect(decodeBase64url(s)).toEqual(reference(s));
      }),
      { numRuns: 20000 },
    );
  });

  it("refuses non-canonical endings and stray characters", () => {
    for (const s of ["QR", "QUF", "QQ=", "QQ==", "Q", "QUFB=", "QU FB", "QUFB\n", "+/8", "QUFBé"])
      expect(decodeBase64url(s), s).toBeUndefined();
    expect(decodeBase64url("QQ")).toEqual(Uint8Array.of(0x41));
    expect(decodeBase64url("QUE")).toEqual(Uint8Array.of(0x41, 0x41));
    expect(decodeBase64url("")).toEqual(new Uint8Array(0));
  });
});
