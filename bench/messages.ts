/**
 * Suite 1: messages against OpenPGP.js 6 (what Mailvelope users get), curve25519 keys,
 * encrypt+sign and decrypt+verify to block armor; against our first-contact message and
 * our known-pair (session) message, also in block armor. 100 B and 1 KiB plaintexts.
 */
import * as openpgp from "openpgp";
import { decodeBundle, verifyBundle } from "../protocol/bundle.js";
import { Label } from "../protocol/kdf.js";
import * as kem from "../protocol/kem.js";
import { HybridSigner, verifyHybrid } from "../protocol/sign.js";
import * as x25519 from "../protocol/x25519.js";
import {
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
import { alternate, meanMs, phasedRate, summarize } from "./stats.js";

const SIZES = [
  { label: "100 B", text: "m".repeat(100) },
  { label: "1 KiB", text: "m".repeat(1024) },
];

async function pgpKeys(name: string) {
  return openpgp.generateKey({
    type: "curve25519",
    userIDs: [{ name, email: `${name}@example.org` }],
    format: "object",
  });
}

export async function messages(o: SuiteOptions): Promise<Section> {
  const sliceMs = o.quick ? 40 : 350;
  const rounds = o.quick ? 1 : 5;
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
  rows.push(...(await breakdown(o, get("first 100 B", "all").median)));

  const pq = sizes["pq 100 B"];
  return {
    id: "messages",
    title: "Messages against OpenPGP.js",
    competitor: `OpenPGP.js ${openpgp.config.versionString.replace(/^OpenPGP\.js v?/, "")}`,
    rows,
    notes: [
      'OpenPGP.js: curve25519 keys (`type: "curve25519"`), `encrypt` with a signing key and `decrypt` with `expectSigned`, armored; keys are parsed once, unlocked.',
      "SECURE-MSG: first contact is bundle verification + X-Wing handshake + sealed sender (hybrid Ed25519+ML-DSA-65 signature) and its acceptance; known pair is one ratchet message in one direction, X-Wing step every 50 messages included. Both to and from block armor, keystore writes not included.",
      `The known-pair size is the typical message; the one in 50 that carries the X-Wing step (and a new key announce) is ${pq ?? "–"} B in block armor at 100 B.`,
    ],
  };
}

/** Where first-contact time goes (issue 6): each costly step on its own, in ms per op. */
async function breakdown(o: SuiteOptions, pairsPerSecond: number): Promise<Row[]> {
  const n = o.quick ? 2 : 20;
  const bob = await newAccount("bob");
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
  const total = 1000 / pairsPerSecond;
  const rows: Row[] = [];
  let known = 0;
  for (const [name, f] of steps) {
    const ms = await meanMs(f, n);
    known += ms;
    rows.push({ measure: `first contact breakdown: ${name}`, unit: "ms", ours: single(ms) });
  }
  rows.push({
    measure: "first contact breakdown: the rest (HKDF, SHA3, AEAD, encoding, armor)",
    unit: "ms",
    ours: single(Math.max(0, total - known)),
  });
  rows.push({ measure: "first contact: encrypt+decrypt, total", unit: "ms", ours: single(total) });
  return rows;
}
