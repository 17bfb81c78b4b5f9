/**
 * Suite 1: messages against OpenPGP.js 6 (what Mailvelope users get), curve25519 keys,
 * encrypt+sign and decrypt+verify to block armor; against our first-contact message and
 * our known-pair (session) message, also in block armor. 100 B and 1 KiB plaintexts.
 */

import * as openpgp from "openpgp";
import { useNodeCrypto } from "../cli/node-crypto.js";
import { decodeBundle, verifyBundle } from "../protocol/bundle.js";
import { Label } from "../protocol/kdf.js";
import * as kem from "../protocol/kem.js";
import { HybridSigner, verifyHybrid } from "../protocol/sign.js";
import * as x25519 from "../protocol/x25519.js";
import {
  type Account,
  acceptFirst,
  armorMessage,
  dearmorMessage,
  firstMessage,
  NOW,
  newAccount,
  open,
  seal,
  session,
} from "./parties.js";
import { compare, type Row, type Section, type SuiteOptions, single } from "./report.js";
import { alternate, msPerCall, phasedRate, summarize } from "./stats.js";

const SIZES = [
  { label: "100 B", text: "m".repeat(100) },
  { label: "1 KiB", text: "m".repeat(1024) },
];

async function pgpKeys(name: string, type: "curve25519" | "ecc" = "curve25519") {
  return openpgp.generateKey({
    type,
    userIDs: [{ name, email: `${name}@example.org` }],
    format: "object",
  });
}

export async function messages(o: SuiteOptions): Promise<Section> {
  const sliceMs = o.quick ? 40 : 300;
  const rounds = o.quick ? 1 : 6;
  const [pa, pb] = [await pgpKeys("alice"), await pgpKeys("bob")];
  const [alice, bob] = [await newAccount("alice"), await newAccount("bob")];

  const pgpEncrypt = async (text: string) =>
    (await openpgp.encrypt({
      message: await openpgp.createMessage({ text }),
      encryptionKeys: pb.publicKey,
      signingKeys: pa.privateKey,
    })) as string;
  const pgpDecrypt = async (armored: string) => {
    const r = await openpgp.decrypt({
      message: await openpgp.readMessage({ armoredMessage: armored }),
      decryptionKeys: pb.privateKey,
      verificationKeys: pa.publicKey,
      expectSigned: true,
    });
    return r.data as string;
  };

  const sizes: Record<string, number> = {};
  type Case = () => Promise<Record<string, number>>;
  const cases: Record<string, Case> = {};
  for (const { label, text } of SIZES) {
    cases[`pgp ${label}`] = () =>
      phasedRate(async (lap) => {
        const armored = await pgpEncrypt(text);
        lap("encrypt");
        if ((await pgpDecrypt(armored)) !== text) throw new Error("OpenPGP round trip failed");
        lap("decrypt");
        sizes[`pgp ${label}`] = armored.length;
      }, sliceMs);
    cases[`first ${label}`] = () =>
      phasedRate(async (lap) => {
        const armored = armorMessage((await firstMessage(alice, bob, text)).message);
        lap("encrypt");
        if ((await acceptFirst(bob, dearmorMessage(armored))).text !== text)
          throw new Error("first-contact round trip failed");
        lap("decrypt");
        sizes[`first ${label}`] = armored.length;
      }, sliceMs);
    // One long-lived session per size, same direction: the X-Wing step comes every 50.
    const s = await session();
    cases[`known ${label}`] = () =>
      phasedRate(async (lap) => {
        const armored = armorMessage(await seal(s.a, text));
        lap("encrypt");
        if ((await open(s.b, dearmorMessage(armored))) !== text)
          throw new Error("known-pair round trip failed");
        lap("decrypt");
        // The typical message (no X-Wing step, no key announce); the PQ one is noted apart.
        const kind = armored.length > 1500 + text.length * 2 ? "pq" : "known";
        sizes[`${kind} ${label}`] = Math.min(sizes[`${kind} ${label}`] ?? 1e9, armored.length);
      }, sliceMs);
    // The same, with AES-GCM through WebCrypto and @noble/hashes, as the extension runs it
    // (bench/main.ts installs node:crypto's, as the CLI does).
    const w = await session();
    cases[`known webcrypto ${label}`] = async () => {
      useNodeCrypto(false);
      try {
        return await phasedRate(async (lap) => {
          const armored = armorMessage(await seal(w.a, text));
          lap("encrypt");
          if ((await open(w.b, dearmorMessage(armored))) !== text)
            throw new Error("known-pair round trip failed");
          lap("decrypt");
        }, sliceMs);
      } finally {
        useNodeCrypto();
      }
    };
  }
  o.log(`messages: ${Object.keys(cases).length} cases × ${rounds} rounds`);
  const r = await alternate(cases, rounds);
  const get = (c: string, m: string) => summarize(r[c]![m]!);

  const rows: Row[] = [];
  const tenX = { text: "≥ 10×", test: (x: number) => x >= 10 };
  for (const { label } of SIZES) {
    rows.push(
      compare(
        `known pair: encrypt+decrypt, ${label}`,
        "ops/s",
        get(`known ${label}`, "all"),
        get(`pgp ${label}`, "all"),
        tenX,
      ),
      compare(
        `known pair: encrypt+decrypt, ${label}, WebCrypto AES-GCM and @noble/hashes (as in the extension)`,
        "ops/s",
        get(`known webcrypto ${label}`, "all"),
        get(`pgp ${label}`, "all"),
      ),
      compare(
        `known pair: encrypt, ${label}`,
        "ops/s",
        get(`known ${label}`, "encrypt"),
        get(`pgp ${label}`, "encrypt"),
      ),
      compare(
        `known pair: decrypt, ${label}`,
        "ops/s",
        get(`known ${label}`, "decrypt"),
        get(`pgp ${label}`, "decrypt"),
      ),
      compare(
        `first contact: encrypt+decrypt, ${label}`,
        "ops/s",
        get(`first ${label}`, "all"),
        get(`pgp ${label}`, "all"),
      ),
      compare(
        `first contact: encrypt, ${label}`,
        "ops/s",
        get(`first ${label}`, "encrypt"),
        get(`pgp ${label}`, "encrypt"),
      ),
      compare(
        `first contact: decrypt, ${label}`,
        "ops/s",
        get(`first ${label}`, "decrypt"),
        get(`pgp ${label}`, "decrypt"),
      ),
    );
  }
  for (const { label } of SIZES) {
    const pgp = single(sizes[`pgp ${label}`]!);
    const goal = label === "100 B" ? { text: "≤ 45 %", test: (x: number) => x <= 0.45 } : undefined;
    rows.push(
      compare(
        `known pair: block armor size, ${label}`,
        "B",
        single(sizes[`known ${label}`]!),
        pgp,
        goal,
      ),
    );
    rows.push(
      compare(
        `first contact: block armor size, ${label}`,
        "B",
        single(sizes[`first ${label}`]!),
        pgp,
      ),
    );
  }
  rows.push(...(await breakdown(o, alice, bob)));

  const pq = sizes["pq 100 B"];
  const legacy = await legacySize(SIZES[0]!.text);
  const ours100 = sizes["known 100 B"]!;
  return {
    id: "messages",
    title: "Messages against OpenPGP.js",
    competitor: `OpenPGP.js ${openpgp.config.versionString.replace(/^OpenPGP\.js v?/, "")}`,
    rows,
    notes: [
      'OpenPGP.js: curve25519 keys (`type: "curve25519"`), `encrypt` with a signing key and `decrypt` with `expectSigned`, armored; keys are parsed once, unlocked.',
      "SECURE-MSG: first contact is bundle verification + X-Wing handshake + sealed sender (hybrid Ed25519+ML-DSA-65 signature) and its acceptance; known pair is one ratchet message in one direction, X-Wing step every 50 messages included. Both to and from block armor, keystore writes not included. AES-256-GCM comes from node:crypto, as the CLI runs it; the WebCrypto row is the same message with WebCrypto's AES-GCM, as the extension runs it.",
      `The known-pair size is the typical message; the one in 50 that carries the X-Wing step (and a new key announce) is ${pq ?? "–"} B in block armor at 100 B.`,
      `With legacy curve25519 keys (\`type: "ecc"\`, the older format most existing keys use) OpenPGP.js makes ${legacy} B at 100 B; our known-pair message is ${Math.round((ours100 / legacy) * 1000) / 10} % of that.`,
    ],
  };
}

/** The armored size of the same 100 B message with legacy (`ecc`) curve25519 keys. */
async function legacySize(text: string): Promise<number> {
  const [a, b] = [await pgpKeys("alice", "ecc"), await pgpKeys("bob", "ecc")];
  const armored = (await openpgp.encrypt({
    message: await openpgp.createMessage({ text }),
    encryptionKeys: b.publicKey,
    signingKeys: a.privateKey,
  })) as string;
  return armored.length;
}

/** Where first-contact time goes (issue 6): each costly step on its own, in ms per op. */
async function breakdown(o: SuiteOptions, alice: Account, bob: Account): Promise<Row[]> {
  const n = o.quick ? 2 : 20;
  const bundle = decodeBundle(bob.account.bundle);
  const signer = await HybridSigner.generate();
  const msg = new Uint8Array(5000);
  const sig = await signer.sign(Label.handshakeSignature, msg);
  const kp = await kem.generateKeyPair();
  const { ciphertext } = await kem.encapsulate(kp.publicKey);
  const steps: [string, () => Promise<unknown>][] = [
    ["bundle verify (hybrid, sender)", () => verifyBundle(bundle, NOW)],
    ["X-Wing encapsulate (sender)", () => kem.encapsulate(kp.publicKey)],
    ["X-Wing keygen, first ratchet key (sender)", () => kem.generateKeyPair()],
    ["X25519 keygen (sender)", () => x25519.generateKeyPair()],
    ["hybrid sign: Ed25519 + ML-DSA-65 (sender)", () => signer.sign(Label.handshakeSignature, msg)],
    ["X-Wing decapsulate (recipient)", () => kem.decapsulate(kp.secretKey, ciphertext)],
    [
      "hybrid verify: Ed25519 + ML-DSA-65 (recipient)",
      () => verifyHybrid(signer.publicKey, Label.handshakeSignature, msg, sig),
    ],
  ];
  // The whole round trip timed the same way, so that the rest is what no step above covers.
  const text = "m".repeat(100);
  const total = await msPerCall(
    async () =>
      acceptFirst(
        bob,
        dearmorMessage(armorMessage((await firstMessage(alice, bob, text)).message)),
      ),
    n,
  );
  const rows: Row[] = [];
  let known = 0;
  for (const [name, f] of steps) {
    const ms = await msPerCall(f, n);
    known += ms;
    rows.push({ measure: `first contact breakdown: ${name}`, unit: "ms", ours: single(ms) });
  }
  rows.push({
    measure: "first contact breakdown: the rest (HKDF, SHA3, AEAD, encoding, armor)",
    unit: "ms",
    ours: single(total - known),
  });
  rows.push({
    measure: "first contact breakdown: encrypt+decrypt, 100 B, total",
    unit: "ms",
    ours: single(total),
  });
  return rows;
}
