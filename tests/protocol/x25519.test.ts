import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nodeX25519 } from "../../cli/x25519.js";
import { fromHex, Reader, Writer } from "../../protocol/bytes.js";
import { ProtocolError } from "../../protocol/errors.js";
import * as ratchet from "../../protocol/ratchet.js";
import * as x25519 from "../../protocol/x25519.js";
import { pair, receive, send } from "./pair.js";

const code = (c: string) => (e: unknown) => ProtocolError.is(e, c as never);

// Every test of this block runs with WebCrypto and with node:crypto's X25519 as the CLI
// installs it (cli/x25519.ts).
describe.each([
  { backend: "WebCrypto", impl: undefined },
  { backend: "node:crypto", impl: nodeX25519 },
])("x25519 ($backend)", ({ impl }) => {
  beforeEach(() => x25519.useSyncX25519(impl));
  afterEach(() => x25519.useSyncX25519(undefined));

  it("agrees on one secret whether a key is cached, imported or ephemeral", async () => {
    const a = await x25519.generateKeyPair();
    const b = await x25519.generateKeyPair();
    expect(await x25519.publicKey(a.secretKey)).toEqual(a.publicKey);
    const ab = await x25519.dh(a.secretKey, b.publicKey);
    expect(await x25519.ratchetDh(a, b.publicKey)).toEqual(ab);
    expect(await x25519.ratchetDh(b, a.publicKey)).toEqual(ab);
    const fresh = await x25519.generateWithDh(b.publicKey);
    expect(fresh.shared).toEqual(await x25519.dh(b.secretKey, fresh.keyPair.publicKey));
    const e = await x25519.ephemeral(a.publicKey);
    expect(e.shared).toEqual(await x25519.dh(a.secretKey, e.publicKey));
    x25519.forget(a.publicKey);
    x25519.clearCache();
    expect(await x25519.ratchetDh(a, b.publicKey)).toEqual(ab);
  });

  it("uses the secret it is given, never a cached one for the same public key", async () => {
    const a = await x25519.generateKeyPair();
    const b = await x25519.generateKeyPair();
    const other = (await x25519.generateKeyPair()).secretKey;
    const forged = { secretKey: other, publicKey: a.publicKey };
    expect(await x25519.ratchetDh(forged, b.publicKey)).toEqual(
      await x25519.dh(other, b.publicKey),
    );
  });

  it("rejects a low-order public key as TAMPERED on every path", async () => {
    const a = await x25519.generateKeyPair();
    for (const low of LOW_ORDER) {
      await expect(x25519.ratchetDh(a, low)).rejects.toSatisfy(code("TAMPERED"));
      await expect(x25519.dh(a.secretKey, low)).rejects.toSatisfy(code("TAMPERED"));
      await expect(x25519.generateWithDh(low)).rejects.toSatisfy(code("TAMPERED"));
      await expect(x25519.ephemeral(low)).rejects.toSatisfy(code("TAMPERED"));
    }
    await expect(x25519.dh(a.secretKey, new Uint8Array(31))).rejects.toSatisfy(
      code("INVALID_ARGUMENT"),
    );
  });
});

/** Public keys whose X25519 with any secret is all zero (RFC 7748 §6.1; libsodium's list). */
const LOW_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
  "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map(fromHex);

describe("x25519 backends", () => {
  afterEach(() => x25519.useSyncX25519(undefined));
  const key = fc.uint8Array({ minLength: 32, maxLength: 32 });

  it("compute the same public keys and shared secrets from the same secrets", async () => {
    await fc.assert(
      fc.asyncProperty(key, key, async (skA, skB) => {
        const run = async () => {
          const pkA = await x25519.publicKey(skA);
          const pkB = await x25519.publicKey(skB);
          return { pkA, pkB, ab: await x25519.dh(skA, pkB), ba: await x25519.dh(skB, pkA) };
        };
        x25519.useSyncX25519(undefined);
        const web = await run();
        x25519.useSyncX25519(nodeX25519);
        const node = await run();
        expect(node).toEqual(web);
        expect(web.ab).toEqual(web.ba);
      }),
      { numRuns: 100 },
    );
  });

  it("make key pairs the other backend agrees with", async () => {
    for (const [make, check] of [
      [nodeX25519, undefined],
      [undefined, nodeX25519],
    ] as const) {
      x25519.useSyncX25519(make);
      const a = await x25519.generateKeyPair();
      const b = await x25519.generateWithDh(a.publicKey);
      x25519.useSyncX25519(check);
      expect(await x25519.publicKey(a.secretKey)).toEqual(a.publicKey);
      expect(await x25519.publicKey(b.keyPair.secretKey)).toEqual(b.keyPair.publicKey);
      expect(await x25519.dh(a.secretKey, b.keyPair.publicKey)).toEqual(b.shared);
    }
  });

  it("never use a handle of one backend with the other, even if a key was being made at the switch", async () => {
    x25519.useSyncX25519(undefined);
    const peer = await x25519.generateKeyPair();
    const making = x25519.generateKeyPair(); // WebCrypto, in flight
    x25519.useSyncX25519(nodeX25519);
    const a = await making;
    // Not cached for node:crypto: the DH goes through an import, with the right result.
    const want = await x25519.dh(a.secretKey, peer.publicKey);
    expect(await x25519.ratchetDh(a, peer.publicKey)).toEqual(want);
    x25519.useSyncX25519(undefined);
    expect(await x25519.ratchetDh(a, peer.publicKey)).toEqual(want);
  });

  it("never cache a key made while the cache was cleared (a lock), nor one whose DH failed", async () => {
    for (const impl of [undefined, nodeX25519]) {
      x25519.useSyncX25519(impl);
      const peer = await x25519.generateKeyPair();
      const making = x25519.generateWithDh(peer.publicKey);
      x25519.clearCache();
      const made = await making;
      expect(await x25519.ratchetDh(made.keyPair, peer.publicKey)).toEqual(made.shared);
      await expect(x25519.generateWithDh(new Uint8Array(32))).rejects.toSatisfy(code("TAMPERED"));
    }
  });

  it("carry an alternating conversation across an X-Wing step with the sides on different backends", async () => {
    const { a, b } = await pair();
    for (let i = 0; i < 160; i++) {
      x25519.useSyncX25519(i % 2 ? nodeX25519 : undefined);
      const m = await send(i % 3 ? a : b, `m${i}`);
      x25519.useSyncX25519(i % 2 ? undefined : nodeX25519);
      expect(await receive(i % 3 ? b : a, m)).toBe(`m${i}`);
    }
  });
});

describe("ratchet state", () => {
  it("never writes to the state it is given, so an old state stays usable", async () => {
    const { a, b } = await pair();
    await receive(b, await send(a, "x"));
    await receive(a, await send(b, "y"));
    const late = await send(a, "late"); // leaves a skipped key when it arrives last
    const next = await send(a, "next");
    await receive(b, next);
    const before = ratchet.cloneState(b.state);
    const first = await ratchet.decrypt(b.state, late, 0);
    expect(b.state).toEqual(before);
    // The same input state decrypts the same message again, to the same result.
    const again = await ratchet.decrypt(b.state, late, 0);
    expect(again.payload).toEqual(first.payload);
    expect(first.state.skipped).toHaveLength(0);
    const sent = ratchet.cloneState(a.state);
    await ratchet.encrypt(a.state, new Uint8Array(1), 0);
    expect(a.state).toEqual(sent);
  });
});

describe("varint", () => {
  const enc = (n: number) => new Writer().varint(n).finish();
  const dec = (b: number[], max?: number) => {
    const r = new Reader(Uint8Array.from(b), "test");
    const v = r.varint(max);
    r.end();
    return v;
  };

  it("writes the shortest form (RFC 9000 §16) and reads it back", () => {
    for (const [n, len] of [
      [0, 1],
      [63, 1],
      [64, 2],
      [16383, 2],
      [16384, 4],
      [2 ** 30 - 1, 4],
      [2 ** 30, 8],
      [2 ** 32 - 1, 8],
    ] as const) {
      const b = enc(n);
      expect(b.length, String(n)).toBe(len);
      expect(dec([...b])).toBe(n);
    }
    expect(() => enc(2 ** 32)).toThrow(RangeError);
    expect(() => enc(-1)).toThrow(RangeError);
  });

  it("rejects longer forms, values over the maximum, and truncation", () => {
    const bad = (b: number[], max?: number) =>
      expect(() => dec(b, max)).toThrow(
        expect.objectContaining({ code: "BAD_ENCODING" }) as unknown as Error,
      );
    bad([0x40, 0x00]); // 0 in two bytes
    bad([0x40, 0x3f]); // 63 in two bytes
    bad([0x80, 0x00, 0x3f, 0xff]); // 16383 in four bytes
    bad([0xc0, 0, 0, 0, 0x3f, 0xff, 0xff, 0xff]); // 2^30 - 1 in eight bytes
    bad([0xc0, 0, 0, 1, 0, 0, 0, 0]); // 2^32: over the default maximum
    bad([0x05], 4);
    bad([0x40]);
    bad([]);
  });
});
