import { describe, expect, it } from "vitest";
import { Reader, Writer } from "../../protocol/bytes.js";
import { ProtocolError } from "../../protocol/errors.js";
import * as ratchet from "../../protocol/ratchet.js";
import * as x25519 from "../../protocol/x25519.js";
import { pair, receive, send } from "./pair.js";

const code = (c: string) => (e: unknown) => ProtocolError.is(e, c as never);

describe("x25519", () => {
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
    const zero = new Uint8Array(32);
    await expect(x25519.ratchetDh(a, zero)).rejects.toSatisfy(code("TAMPERED"));
    await expect(x25519.dh(a.secretKey, zero)).rejects.toSatisfy(code("TAMPERED"));
    await expect(x25519.generateWithDh(zero)).rejects.toSatisfy(code("TAMPERED"));
    await expect(x25519.ephemeral(zero)).rejects.toSatisfy(code("TAMPERED"));
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
