import { beforeAll, describe, expect, it } from "vitest";
import { armor } from "../../protocol/armor.js";
import { Client } from "../../protocol/client.js";
import { type ErrorCode, ProtocolError } from "../../protocol/errors.js";
import { MemoryStorage } from "../../protocol/storage.js";

const kdf = { m: 1024, t: 1, p: 1 };
const TEXT = "attack at dawn, bring the post-quantum snacks ".repeat(3).slice(0, 100);

/**
 * Which failures are right for a change in each region of a session message (§6.3.2).
 * The message is epoch 1, previous length 0, n 0: each varint is one byte. A flip of a
 * varint's top bit makes it a 4-byte varint, which moves every later field (the next
 * bytes become its value, the ciphertext becomes header fields).
 */
function expectedFor(offset: number, length: number, mask: number): ErrorCode[] {
  const moved = mask & 0xc0 ? (["BAD_ENCODING"] as ErrorCode[]) : [];
  if (offset === 0) return ["UNSUPPORTED_VERSION"];
  if (offset === 1) return ["BAD_ENCODING"];
  if (offset < 10) return ["NO_SESSION"]; // session id
  if (offset < 42) return ["TAMPERED"]; // ratchet key: no longer the chain's key
  if (offset < 43) return [...moved, "REPLAY", "OUT_OF_ORDER", "TAMPERED"]; // epoch
  // Previous length: authenticated as AAD, and on a chain's first message it bounds skipping.
  if (offset < 44) return [...moved, "TAMPERED", "TOO_MANY_SKIPPED"];
  if (offset < 45) return [...moved, "TAMPERED", "REPLAY", "TOO_MANY_SKIPPED"]; // n
  if (offset < 46) return ["BAD_ENCODING"]; // flags
  if (offset < length) return ["TAMPERED"]; // ciphertext and tag, to the end
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
    expect(envelope.length).toBe(163);
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
          expectedFor(i, envelope.length, mask),
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
    // Issue 6: at most 45 % of OpenPGP.js 6's block armor of the same text (655 characters
    // with curve25519 keys; DESIGN §3 quotes 692 for older keys). §6.5: 163 bytes, 292.
    expect(text.length).toBe(292);
    expect(text.length).toBeLessThanOrEqual(0.45 * 655);
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
    const headerEnd = 2 + 4 + 1120;
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
      else if (i < headerEnd)
        expect(c).toBe("TAMPERED"); // KEM ciphertext
      else expect(c).toBe("TAMPERED"); // sealed sender, to the end
    }
    expect((await bob.decrypt(first)).from).toBe("carol");
  });
});
