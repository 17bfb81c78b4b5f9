/**
 * Every decoder, fed random or mutated input, returns a value or throws a ProtocolError:
 * never any other exception (docs/protocol.md §2).
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeBundle } from "../../protocol/bundle.js";
import { equal } from "../../protocol/bytes.js";
import { Client } from "../../protocol/client.js";
import { decodeEnvelope, decodeSealedInner } from "../../protocol/envelope.js";
import { ProtocolError } from "../../protocol/errors.js";
import { decodeHeader, HEADER_KEY, Keystore } from "../../protocol/keystore.js";
import { MemoryStorage } from "../../protocol/storage.js";

const kdf = { m: 1024, t: 1, p: 1 };

function onlyTyped(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!ProtocolError.is(e)) throw e;
  }
}
async function onlyTypedAsync(f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    if (!ProtocolError.is(e)) throw e;
  }
}

/** Random bytes, or a valid sample with one to four bytes changed, cut or extended. */
function mutated(valid: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const edit = fc.record({
    sample: fc.nat(valid.length - 1),
    at: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
    kind: fc.constantFrom("set", "cut", "extend", "insert"),
  });
  return fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
      let b = valid[edits[0]!.sample]!.slice();
      for (const e of edits) {
        const i = e.at % (b.length + 1);
        if (e.kind === "set" && i < b.length) b[i] = e.value;
        else if (e.kind === "cut") b = b.slice(0, i);
        else if (e.kind === "extend") b = Uint8Array.of(...b, e.value);
        else b = Uint8Array.of(...b.subarray(0, i), e.value, ...b.subarray(i));
      }
      return b;
    }),
  );
}

describe("decoders under fuzzing", () => {
  let alice: Client;
  let bob: Client;
  let bobStore: MemoryStorage;
  const envelopes: Uint8Array[] = [];
  let bundles: Uint8Array[] = [];

  beforeAll(async () => {
    alice = await Client.create(
      new MemoryStorage(),
      { name: "alice", password: "pw-alice-123" },
      { kdf },
    );
    bobStore = new MemoryStorage();
    bob = await Client.create(bobStore, { name: "bob", password: "pw-bob-12345" }, { kdf });
    await alice.addContact(bob.exportBundle());
    for (const t of ["first", "second"]) envelopes.push((await alice.encrypt("bob", t)).envelope);
    bundles = [alice.bundle(), bob.bundle()];
  });

  it("envelope", () => {
    fc.assert(
      fc.property(mutated(envelopes), (b) => onlyTyped(() => decodeEnvelope(b))),
      { numRuns: 3000 },
    );
  });

  it("sealed sender inner part", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8000 }), (b) => onlyTyped(() => decodeSealedInner(b))),
      {
        numRuns: 1000,
      },
    );
  });

  it("bundle", () => {
    fc.assert(
      fc.property(mutated(bundles), (b) => onlyTyped(() => decodeBundle(b))),
      { numRuns: 3000 },
    );
  });

  it("keystore header", async () => {
    const header = (await bobStore.get(HEADER_KEY))!;
    fc.assert(
      fc.property(mutated([header]), (b) => onlyTyped(() => decodeHeader(b))),
      { numRuns: 3000 },
    );
  });

  it("keystore records", async () => {
    const ks = await Keystore.unlock(bobStore, "pw-bob-12345");
    const keys = (await bobStore.list("")).filter((k) => k !== HEADER_KEY);
    const records = await Promise.all(keys.map(async (k) => (await bobStore.get(k))!));
    await fc.assert(
      fc.asyncProperty(mutated(records), fc.constantFrom(...keys), (b, k) =>
        onlyTypedAsync(() => ks.open(k, b)),
      ),
      { numRuns: 1000 },
    );
    // A record moved to another key fails as CORRUPT_STORE: the key is its AAD.
    await expect(ks.open(keys[1]!, records[0]!)).rejects.toSatisfy((e) =>
      ProtocolError.is(e, "CORRUPT_STORE"),
    );
  });

  it("the whole decrypt path, without changing any state", async () => {
    await fc.assert(
      fc.asyncProperty(
        mutated(envelopes.slice(0, 1)).filter((b) => !equal(b, envelopes[0]!)),
        (b) => onlyTypedAsync(() => bob.decrypt(b)),
      ),
      { numRuns: 100 },
    );
    expect((await bob.decrypt(envelopes[0]!)).text).toBe("first");
    const second = envelopes[1]!;
    await fc.assert(
      fc.asyncProperty(
        mutated([second]).filter((b) => !equal(b, second)),
        (b) => onlyTypedAsync(() => bob.decrypt(b)),
      ),
      { numRuns: 1000 },
    );
    expect((await bob.decrypt(second)).text).toBe("second");
  });

  it("armor input on the decrypt path", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 400 }), (s) => onlyTypedAsync(() => bob.decrypt(s))),
      { numRuns: 500 },
    );
  });
});
