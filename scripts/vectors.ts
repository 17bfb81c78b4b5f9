/**
 * Generates the committed test vectors in tests/vectors/v1/ (docs/protocol.md §10).
 *
 *     npm run vectors
 *
 * Randomness comes from a seeded SHAKE256 stream, so the output is the same on every run
 * and a diff in the vectors means the wire format changed. Each vector names its expected
 * outcome from a fixed list (tests/vectors/v1/README.md).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { shake256 } from "@noble/hashes/sha3.js";
import * as aead from "../protocol/aead.js";
import { armor } from "../protocol/armor.js";
import { type Bundle, encodeBundle, signBundle } from "../protocol/bundle.js";
import { concat, toHex, utf8, Writer } from "../protocol/bytes.js";
import { decodeEnvelope, encodeEnvelope, encodeText } from "../protocol/envelope.js";
import * as handshake from "../protocol/handshake.js";
import { fingerprint } from "../protocol/identity.js";
import { hkdf, Label, labelledHash } from "../protocol/kdf.js";
import * as kem from "../protocol/kem.js";
import { Keystore } from "../protocol/keystore.js";
import * as ratchet from "../protocol/ratchet.js";
import { HybridSigner } from "../protocol/sign.js";
import { MemoryStorage } from "../protocol/storage.js";
import { backupVectors } from "./vectors-backup.js";
import { receiptVectors } from "./vectors-receipt.js";

// --- deterministic randomness ----------------------------------------------------------
const stream = shake256.create({ dkLen: 1 << 30 });
stream.update(utf8("secure-msg test vectors v1"));
let pool: Uint8Array = new Uint8Array(0);
Object.defineProperty(globalThis.crypto, "getRandomValues", {
  value<T extends ArrayBufferView | null>(array: T): T {
    if (!array) return array;
    const out = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    if (pool.length < out.length) pool = concat(pool, stream.xof(Math.max(4096, out.length)));
    out.set(pool.subarray(0, out.length));
    pool = pool.slice(out.length);
    return array;
  },
});
const rand = (n: number) => crypto.getRandomValues(new Uint8Array(n));
// protocol/x25519.ts makes X25519 keys with WebCrypto's generateKey, which does not use
// getRandomValues: here an X25519 key is 32 bytes of the stream instead, imported.
const PKCS8_X25519 = Uint8Array.from([48, 46, 2, 1, 0, 48, 5, 6, 3, 43, 101, 110, 4, 34, 4, 32]);
const BASE_POINT = Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 9 : 0));
const generateKey = crypto.subtle.generateKey.bind(crypto.subtle);
Object.defineProperty(globalThis.crypto.subtle, "generateKey", {
  async value(alg: AlgorithmIdentifier, extractable: boolean, usages: KeyUsage[]) {
    if ((typeof alg === "string" ? alg : alg.name) !== "X25519")
      return generateKey(alg as never, extractable, usages);
    const der = concat(PKCS8_X25519, rand(32));
    const privateKey = await crypto.subtle.importKey(
      "pkcs8",
      der as BufferSource,
      alg,
      extractable,
      usages,
    );
    const base = await crypto.subtle.importKey("raw", BASE_POINT, alg, true, []);
    const pub = await crypto.subtle.deriveBits({ name: "X25519", public: base }, privateKey, 256);
    const publicKey = await crypto.subtle.importKey("raw", pub, alg, true, []);
    return { privateKey, publicKey };
  },
});

const NOW = 1_767_225_600_000; // 2026-01-01T00:00:00Z
// VECTORS_OUT lets the test suite regenerate into a temp folder and compare.
const OUT = process.env.VECTORS_OUT
  ? pathToFileURL(`${process.env.VECTORS_OUT.replace(/\/$/, "")}/`)
  : new URL("../tests/vectors/v1/", import.meta.url);
mkdirSync(OUT, { recursive: true });
const hex = toHex;
function write(name: string, description: string, vectors: unknown[]): void {
  writeFileSync(new URL(name, OUT), `${JSON.stringify({ description, vectors }, null, 2)}\n`);
  console.log(`wrote ${new URL(name, OUT).pathname} (${vectors.length} vectors)`);
}
const flip = (b: Uint8Array, i: number, mask = 0x01) => {
  const c = b.slice();
  c[i]! ^= mask;
  return c;
};

// --- X-Wing ----------------------------------------------------------------------------
{
  const vectors = [];
  for (let i = 0; i < 3; i++) {
    const seed = rand(32);
    const eseed = rand(64);
    const { publicKey } = await kem.keyPairFromSeed(seed);
    const { ciphertext, sharedSecret } = await kem.encapsulate(publicKey, eseed);
    vectors.push({
      expect: "success",
      seed: hex(seed),
      eseed: hex(eseed),
      publicKey: hex(publicKey),
      ciphertext: hex(ciphertext),
      sharedSecret: hex(sharedSecret),
    });
  }
  write(
    "xwing.json",
    "X-Wing (ML-KEM-768 + X25519) KeyGen from seed, Encaps with eseed, Decaps.",
    vectors,
  );
}

// --- identities and bundles --------------------------------------------------------------
const bobSeed = rand(64);
const bob = await HybridSigner.fromSeed(bobSeed);
const bobPrekeySeed = rand(32);
const bobPrekey = {
  id: 0x0b0b0001,
  seed: bobPrekeySeed,
  publicKey: (await kem.keyPairFromSeed(bobPrekeySeed)).publicKey,
};
const aliceSeed = rand(64);
const alice = await HybridSigner.fromSeed(aliceSeed);
const bobBundle: Bundle = await signBundle(bob, {
  name: "bob",
  relay: "https://relay.example:8787",
  identityKey: bob.publicKey,
  prekeyId: bobPrekey.id,
  prekey: bobPrekey.publicKey,
  prekeyExpires: NOW + 14 * 86_400_000,
  created: NOW,
});
{
  const good = encodeBundle(bobBundle);
  const other = await signBundle(alice, { ...bobBundle, identityKey: bob.publicKey });
  write(
    "bundle.json",
    "Bundles: decode, verify the hybrid signature, check prekey expiry at `now`.",
    [
      {
        expect: "success",
        now: NOW,
        bundle: hex(good),
        name: "bob",
        fingerprint: hex(fingerprint(bob.publicKey)),
      },
      {
        expect: "bad signature",
        now: NOW,
        bundle: hex(flip(good, 40)),
        comment: "identity key changed",
      },
      {
        expect: "bad signature",
        now: NOW,
        bundle: hex(flip(good, good.length - 1)),
        comment: "ML-DSA half changed",
      },
      {
        expect: "bad signature",
        now: NOW,
        bundle: hex(flip(good, good.length - 3309 - 1)),
        comment: "Ed25519 half changed",
      },
      {
        expect: "bad signature",
        now: NOW,
        bundle: hex(encodeBundle(other)),
        comment: "signed by another identity",
      },
      { expect: "expired", now: NOW + 15 * 86_400_000, bundle: hex(good) },
      { expect: "unsupported version", now: NOW, bundle: hex(flip(good, 0, 0x03)) },
      {
        expect: "bad encoding",
        now: NOW,
        bundle: hex(concat(good, Uint8Array.of(0))),
        comment: "trailing byte",
      },
      {
        expect: "bad encoding",
        now: NOW,
        bundle: hex(good.subarray(0, 100)),
        comment: "truncated",
      },
    ],
  );
}

// --- a conversation, as the receiver (Bob) sees it ----------------------------------------
{
  const sender = { signer: alice, name: "alice", relay: "https://relay.example:8787" };
  const first = await handshake.initiate(sender, bobBundle, encodeText("hello bob"), NOW);
  let a = first.state;
  const env = decodeEnvelope(first.message);
  if (env.type !== "prekey") throw new Error("unreachable");
  const b = (await handshake.accept(bob.publicKey, bobPrekey, env, NOW)).state;
  const send = async (text: string) => {
    const r = await ratchet.encrypt(a, encodeText(text), NOW);
    a = r.state;
    return r.message;
  };
  const m1 = await send("second");
  const m2 = await send("third");
  const m3 = await send("fourth");
  // A first message with a broken signature, sealed correctly (the generator can open it).
  const ss = await kem.decapsulate(bobPrekey.seed, env.kemCiphertext);
  const th = labelledHash(
    Label.handshakeTranscript,
    fingerprint(bob.publicKey),
    new Writer().u32(bobPrekey.id).finish(),
    bobPrekey.publicKey,
    env.kemCiphertext,
  );
  const hk = hkdf(ss, th, Label.handshakeKeys, 32);
  const zero = new Uint8Array(12);
  const inner = await aead.open(hk, zero, env.ciphertext, env.header);
  const badInner = flip(inner, 1984 + 2 + 5 + 2 + 26 + 32 + 4 + 1216 + 10);
  const badSig = encodeEnvelope(env.header, await aead.seal(hk, zero, badInner, env.header));

  write(
    "conversation.json",
    "Bob's side of a conversation: `steps` are processed in order by one receiver that holds `recipient`. A failing step changes no state.",
    [
      {
        recipient: {
          identitySeed: hex(bobSeed),
          prekeyId: bobPrekey.id,
          prekeySeed: hex(bobPrekey.seed),
        },
        now: NOW,
        steps: [
          {
            expect: "not for me",
            envelope: hex(flip(first.message, 5)),
            comment: "another prekey id",
          },
          {
            expect: "tampered",
            envelope: hex(flip(first.message, 100)),
            comment: "KEM ciphertext changed",
          },
          {
            expect: "tampered",
            envelope: hex(flip(first.message, first.message.length - 1)),
            comment: "tag changed",
          },
          {
            expect: "bad signature",
            envelope: hex(badSig),
            comment: "transcript signature broken inside a valid seal",
          },
          { expect: "unsupported version", envelope: hex(flip(first.message, 0, 0x02)) },
          { expect: "bad encoding", envelope: hex(first.message.subarray(0, 50)) },
          { expect: "success", envelope: hex(first.message), from: "alice", text: "hello bob" },
          { expect: "replay", envelope: hex(first.message) },
          {
            expect: "success",
            envelope: hex(m2),
            text: "third",
            comment: "out of order: skips one key",
          },
          { expect: "tampered", envelope: hex(flip(m1, m1.length - 5)) },
          {
            expect: "bad encoding",
            envelope: hex(concat(m1.subarray(0, 42), Uint8Array.of(0x40), m1.subarray(42))),
            comment: "epoch 0 as a two-byte varint: not its shortest form",
          },
          {
            expect: "bad encoding",
            envelope: hex(m1.subarray(0, 43 + 2 + 1 + 15)),
            comment: "ciphertext shorter than the tag",
          },
          { expect: "success", envelope: hex(m1), text: "second" },
          { expect: "replay", envelope: hex(m1) },
          { expect: "success", envelope: hex(m3), text: "fourth" },
        ],
      },
    ],
  );
  void b;
}

// --- armor ---------------------------------------------------------------------------------
{
  const data = rand(100);
  const block = armor("MESSAGE", data);
  const compact = armor("MESSAGE", data, { compact: true });
  write("armor.json", "Armor: `text` dearmored as `kind`.", [
    { expect: "success", kind: "MESSAGE", text: block, data: hex(data) },
    { expect: "success", kind: "MESSAGE", text: compact, data: hex(data) },
    {
      expect: "success",
      kind: "MESSAGE",
      text: `  \r\n${block.replaceAll("\n", " \r\n")}\n\n`,
      data: hex(data),
      comment: "every tolerated deviation",
    },
    { expect: "bad armor", kind: "BUNDLE", text: block, comment: "wrong kind" },
    {
      expect: "bad armor",
      kind: "MESSAGE",
      text: block.replace("\n", "\n\n"),
      comment: "blank line",
    },
    {
      expect: "bad armor",
      kind: "MESSAGE",
      text: block.replace("-----END", "Comment: x\n-----END"),
      comment: "header line",
    },
    {
      expect: "bad armor",
      kind: "MESSAGE",
      text: `${compact}=`,
      comment: "padding in compact form",
    },
    { expect: "bad armor", kind: "MESSAGE", text: `${block}x`, comment: "trailing content" },
  ]);
}

// --- keystore --------------------------------------------------------------------------------
{
  const store = new MemoryStorage();
  const ks = await Keystore.create(store, "correct horse battery staple", { m: 1024, t: 2, p: 1 });
  await ks.write([{ key: "note", value: { text: "hello" } }]);
  const header = (await store.get("keystore"))!;
  const record = (await store.get("note"))!;
  write(
    "keystore.json",
    "Keystore: unlock `header` with `password`, then open `record` stored under `key`.",
    [
      {
        expect: "success",
        password: "correct horse battery staple",
        header: hex(header),
        key: "note",
        record: hex(record),
        value: { text: "hello" },
      },
      {
        expect: "wrong password",
        password: "correct horse battery stapler",
        header: hex(header),
        key: "note",
        record: hex(record),
      },
      {
        expect: "wrong password",
        password: "correct horse battery staple",
        header: hex(flip(header, 15)),
        key: "note",
        record: hex(record),
        comment: "salt changed",
      },
      {
        expect: "wrong password",
        password: "correct horse battery staple",
        header: hex(flip(header, 9, 0x03)),
        key: "note",
        record: hex(record),
        comment: "t changed: the parameters are bound as AAD",
      },
      {
        expect: "corrupt store",
        password: "correct horse battery staple",
        header: hex(header),
        key: "moved",
        record: hex(record),
        comment: "record under another key",
      },
      {
        expect: "corrupt store",
        password: "x",
        header: hex(header.subarray(0, 20)),
        key: "note",
        record: hex(record),
        comment: "truncated header",
      },
    ],
  );
}

// --- account backup (scripts/vectors-backup.ts) ---------------------------------------------
await backupVectors(write, NOW);

// --- relay receipts (scripts/vectors-receipt.ts) --------------------------------------------
await receiptVectors(write, rand, NOW);
