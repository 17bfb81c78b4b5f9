import { beforeAll, describe, expect, it } from "vitest";
import { armor } from "../../protocol/armor.js";
import { Client } from "../../protocol/client.js";
import { type ErrorCode, ProtocolError } from "../../protocol/errors.js";
import { MemoryStorage } from "../../protocol/storage.js";

const kdf = { m: 1024, t: 1, p: 1 };
const TEXT = "attack at dawn, bring the post-quantum snacks ".repeat(3).slice(0, 100);

/** Which failures are right for a change in each region of a session message (§6.3.2). */
function expectedFor(offset: number, length: number): ErrorCode[] {
  if (offset === 0) return ["UNSUPPORTED_VERSION"];
  if (offset === 1) return ["BAD_ENCODING"];
  if (offset < 10) return ["NO_SESSION"]; // session id
  if (offset < 42) return ["TAMPERED"]; // ratchet key: no longer the chain's key
  if (offset < 46) return ["REPLAY", "OUT_OF_ORDER", "TAMPERED"]; // epoch
  // Previous length: authenticated as AAD, and on a chain's first message it bounds skipping.
  if (offset < 50) return ["TAMPERED", "TOO_MANY_SKIPPED"];
  if (offset < 54) return ["TAMPERED", "REPLAY", "TOO_MANY_SKIPPED"]; // n
  if (offset < 55) return ["BAD_ENCODING"]; // flags
  if (offset < 59) return ["BAD_ENCODING"]; // ciphertext length
  if (offset < length) return ["TAMPERED"]; // ciphertext and tag
  throw new Error("offset out of range");
}

describe("tampering", () => {
  let alice: Client;
  let bob: Client;
  let envelope: Uint8Array;

  beforeAll(async () => {
    alice = await Client.create(
      new MemoryStorage(),
      { name: "alice", password: "pw-alice-123" },
      { kdf },
    );
    bob = await Client.create(
      new MemoryStorage(),
      { name: "bob", password: "pw-bob-12345" },
      { kdf },
    );
    await alice.addContact(bob.exportBundle());
    await bob.decrypt((await alice.encrypt("bob", "first")).envelope);
    await alice.decrypt((await bob.encrypt("alice", "reply")).envelope);
    envelope = (await alice.encrypt("bob", TEXT)).envelope;
  });

  it("rejects a flip of every bit-0 of every byte of a known-pair message, with the right code", async () => {
    expect(envelope.length).toBe(176);
    for (let i = 0; i < envelope.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const bad = envelope.slice();
        bad[i]! ^= mask;
        const err = await bob.decrypt(bad).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(ProtocolError.is(err), `byte ${i} mask ${mask} was accepted`).toBe(true);
        expect(
          expectedFor(i, envelope.length),
          `byte ${i}: ${(err as ProtocolError).code}`,
        ).toContain((err as ProtocolError).code);
      }
    }
    // Nothing was consumed by the failures: the real message still opens, once.
    expect((await bob.decrypt(envelope)).text).toBe(TEXT);
  });

  it("rejects a change of any character of its armor and never shows plaintext", async () => {
    const fresh = (await alice.encrypt("bob", TEXT)).envelope;
    const text = armor("MESSAGE", fresh);
    expect(text.length).toBeLessThan(0.45 * 692);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      const replacement = c === "A" ? "B" : c === "\n" ? "x" : alphabet.includes(c) ? "A" : "x";
      const bad = text.slice(0, i) + replacement + text.slice(i + 1);
      const err = await bob.decrypt(bad).then(
        (r) => new Error(`position ${i} decrypted: ${r.text.length} chars`),
        (e: unknown) => e,
      );
      expect(ProtocolError.is(err), String(err)).toBe(true);
    }
    expect((await bob.decrypt(text)).text).toBe(TEXT);
  });

  it("rejects changes across a first message (sampled), with the right codes", async () => {
    const carol = await Client.create(
      new MemoryStorage(),
      { name: "carol", password: "pw-carol-123" },
      { kdf },
    );
    await carol.addContact(bob.exportBundle());
    const first = (await carol.encrypt("bob", "hello from carol")).envelope;
    const headerEnd = 2 + 4 + 1120 + 4;
    for (let i = 0; i < first.length; i += i < headerEnd + 64 ? 1 : 97) {
      const bad = first.slice();
      bad[i]! ^= 0x04;
      const err = await bob.decrypt(bad).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ProtocolError.is(err), `byte ${i} accepted`).toBe(true);
      const c = (err as ProtocolError).code;
      if (i === 0) expect(c).toBe("UNSUPPORTED_VERSION");
      else if (i === 1) expect(c).toBe("BAD_ENCODING");
      else if (i < 6)
        expect(c).toBe("NOT_FOR_ME"); // prekey id
      else if (i < headerEnd - 4)
        expect(c).toBe("TAMPERED"); // KEM ciphertext
      else if (i < headerEnd)
        expect(c).toBe("BAD_ENCODING"); // length
      else expect(c).toBe("TAMPERED"); // sealed sender
    }
    expect((await bob.decrypt(first)).from).toBe("carol");
  });
});
