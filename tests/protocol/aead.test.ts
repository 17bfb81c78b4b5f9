/**
 * AES-256-GCM (protocol/aead.ts): WebCrypto, and the synchronous node:crypto cipher the
 * CLI installs (cli/aead.ts), give the same bytes and the same typed errors.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { nodeAead } from "../../cli/aead.js";
import * as aead from "../../protocol/aead.js";
import { ProtocolError } from "../../protocol/errors.js";
import { pair, receive, send } from "./pair.js";

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const input = fc.record({
  key: bytes(32),
  nonce: bytes(12),
  plaintext: fc.uint8Array({ maxLength: 300 }),
  aad: fc.uint8Array({ maxLength: 100 }),
});

afterEach(() => aead.useSyncAead(undefined));

async function both<T>(f: () => Promise<T>): Promise<[T, T]> {
  aead.useSyncAead(undefined);
  const web = await f();
  aead.useSyncAead(nodeAead);
  const node = await f();
  aead.useSyncAead(undefined);
  return [web, node];
}

describe("AES-256-GCM backends", () => {
  it("seal to the same bytes, and each opens the other's", async () => {
    await fc.assert(
      fc.asyncProperty(input, async ({ key, nonce, plaintext, aad }) => {
        const [web, node] = await both(() => aead.seal(key, nonce, plaintext, aad));
        expect(node).toEqual(web);
        expect(node).toBeInstanceOf(Uint8Array);
        const [a, b] = await both(() => aead.open(key, nonce, web, aad));
        expect(a).toEqual(plaintext);
        expect(b).toEqual(plaintext);
      }),
      { numRuns: 60 },
    );
  });

  it("refuse the same changes with the same error codes", async () => {
    const key = new Uint8Array(32).fill(1);
    const nonce = new Uint8Array(12).fill(2);
    const aad = new Uint8Array([3, 4, 5]);
    const ct = await aead.seal(key, nonce, new Uint8Array([6, 7, 8, 9]), aad);
    const code = async (f: () => Promise<unknown>) => {
      const [web, node] = await both(() =>
        f().then(
          () => "opened",
          (e: unknown) => (ProtocolError.is(e) ? e.code : `untyped: ${String(e)}`),
        ),
      );
      expect(node).toBe(web);
      return node;
    };
    for (let i = 0; i < ct.length; i++) {
      const bent = ct.slice();
      bent[i]! ^= 0x01;
      expect(await code(() => aead.open(key, nonce, bent, aad))).toBe("TAMPERED");
    }
    const otherKey = key.slice();
    otherKey[0]! ^= 1;
    expect(await code(() => aead.open(otherKey, nonce, ct, aad))).toBe("TAMPERED");
    expect(await code(() => aead.open(key, nonce, ct, new Uint8Array([3, 4])))).toBe("TAMPERED");
    expect(await code(() => aead.open(key, nonce, ct.subarray(0, 15), aad))).toBe("BAD_ENCODING");
    expect(await code(() => aead.open(key.subarray(1), nonce, ct, aad))).toBe("INVALID_ARGUMENT");
    expect(await code(() => aead.seal(key.subarray(1), nonce, ct, aad))).toBe("INVALID_ARGUMENT");
    expect(await code(() => aead.seal(key, nonce.subarray(1), ct, aad))).toBe("INVALID_ARGUMENT");
  });

  it("carry a conversation whose two sides use different backends", async () => {
    aead.useSyncAead(nodeAead); // the first message too
    const { a, b } = await pair();
    for (let i = 0; i < 3; i++) {
      aead.useSyncAead(nodeAead);
      const m = await send(a, `node seals ${i}`);
      aead.useSyncAead(undefined);
      expect(await receive(b, m)).toBe(`node seals ${i}`);
      const r = await send(b, `webcrypto seals ${i}`);
      aead.useSyncAead(nodeAead);
      expect(await receive(a, r)).toBe(`webcrypto seals ${i}`);
    }
  });
});
