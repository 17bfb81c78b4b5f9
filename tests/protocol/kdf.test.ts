/**
 * SHA-256, HMAC and HKDF (protocol/kdf.ts): @noble/hashes, and node:crypto's as the CLI
 * installs them (cli/hashes.ts, with HKDF built on the installed HMAC), give the same bytes,
 * and both match RFC 5869's published test case 3.
 */
import { hkdfSync } from "node:crypto";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { nodeHashes } from "../../cli/hashes.js";
import { useNodeCrypto } from "../../cli/node-crypto.js";
import { fromHex, toHex, utf8 } from "../../protocol/bytes.js";
import * as kdf from "../../protocol/kdf.js";
import { pair, receive, send } from "./pair.js";

afterEach(() => useNodeCrypto(false));

function both<T>(f: () => T): [T, T] {
  kdf.useSyncHashes(undefined);
  const noble = f();
  kdf.useSyncHashes(nodeHashes);
  const node = f();
  kdf.useSyncHashes(undefined);
  return [noble, node];
}

const data = fc.uint8Array({ maxLength: 200 });

describe("hash backends", () => {
  it("hash, MAC and derive the same bytes", () => {
    fc.assert(
      fc.property(data, data, data, fc.integer({ min: 0, max: 200 }), (a, b, c, length) => {
        const eq = <T>([x, y]: [T, T]) => expect(y).toEqual(x);
        eq(both(() => kdf.sha256(a, b, c)));
        eq(both(() => kdf.sha256()));
        eq(both(() => kdf.sha256(a)));
        // Past node's join-and-hash size: hashed part by part.
        eq(both(() => kdf.sha256(a, new Uint8Array(1100).fill(length), c)));
        eq(both(() => kdf.hmacSha256(a, b)));
        eq(both(() => kdf.hmacPair(a)));
        eq(both(() => kdf.hkdf(a, b, "secure-msg/v1/test", length)));
        eq(both(() => kdf.hkdf(a, new Uint8Array(0), "label", length)));
        eq(both(() => kdf.hkdfNoSalt(a, c, length)));
        // And as node:crypto's own HKDF computes it.
        const [, ours] = both(() => kdf.hkdf(a, b, "x", length));
        if (length > 0)
          expect(ours).toEqual(new Uint8Array(hkdfSync("sha256", a, b, utf8("x"), length)));
      }),
      { numRuns: 500 },
    );
  });

  it("reproduce RFC 5869 test case 3, and refuse an HKDF length over 255 blocks", () => {
    // Test case 3: IKM = 0x0b × 22, no salt, no info, L = 42.
    const ikm = fromHex("0b".repeat(22));
    const okm =
      "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8";
    for (const on of [false, true]) {
      useNodeCrypto(on);
      expect(toHex(kdf.hkdf(ikm, new Uint8Array(0), "", 42))).toBe(okm);
      expect(toHex(kdf.hkdfNoSalt(ikm, new Uint8Array(0), 42))).toBe(okm);
      expect(() => kdf.hkdfNoSalt(ikm, new Uint8Array(0), 255 * 32 + 1)).toThrow();
    }
  });

  it("carry a conversation whose two sides use different backends", async () => {
    const { a, b } = await pair();
    for (let i = 0; i < 3; i++) {
      useNodeCrypto(true);
      const m = await send(a, `node ${i}`);
      useNodeCrypto(false);
      expect(await receive(b, m)).toBe(`node ${i}`);
      const r = await send(b, `portable ${i}`);
      useNodeCrypto(true);
      expect(await receive(a, r)).toBe(`portable ${i}`);
    }
  });
});
