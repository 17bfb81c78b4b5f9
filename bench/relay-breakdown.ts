/**
 * Where a deposit's and an inbox fetch's time goes (for the relay goals): each step the
 * routes take (relay/messages.ts, relay/inbox.ts, relay/auth.ts, relay/limits.ts), alone,
 * against a SqliteStore on disk, in ms per call, plus the whole route in memory.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { createAccount } from "../protocol/account.js";
import { base64url, fromHex, randomBytes } from "../protocol/bytes.js";
import { decodeEnvelope, envelopeId } from "../protocol/envelope.js";
import { sha256 } from "../protocol/kdf.js";
import { Context, DepositRequest, receiptBody, requestBody } from "../protocol/relay-api.js";
import { ed25519 } from "../protocol/sign.js";
import { createApp } from "../relay/app.js";
import { DEFAULTS } from "../relay/config.js";
import { edVerify } from "../relay/ed25519.js";
import { RelayLog } from "../relay/log.js";
import { RelaySigner } from "../relay/signer.js";
import { SqliteStore } from "../relay/storage/sqlite.js";
import { seal, session } from "./parties.js";
import { type Row, single } from "./report.js";
import { signedHeaders } from "./signed.js";
import { msPerCall } from "./stats.js";

const URL_ = "http://127.0.0.1:9";
/** PKCS#8 PrivateKeyInfo prefix for Ed25519 (as protocol/sign.ts imports its seeds). */
const ED25519_PKCS8 = fromHex("302e020100300506032b657004220420");
const UNLIMITED = { windowMs: 60_000, limit: 1_000_000_000 };

export async function relayBreakdown(quick: boolean): Promise<Row[]> {
  const n = quick ? 5 : 200;
  const dir = await mkdtemp(join(tmpdir(), "secure-msg-bench-breakdown-"));
  const store = SqliteStore.open(join(dir, "relay.db"));
  try {
    const signer = await RelaySigner.generate();
    const config = { ...DEFAULTS, url: URL_, rateLimit: UNLIMITED, readRateLimit: UNLIMITED };
    const { app } = createApp({ store, signer, config });
    const user = await createAccount("bob", URL_, Date.now());
    const put = { "content-type": "application/json" };
    const bundle = JSON.stringify({ bundle: base64url.encode(user.account.bundle) });
    await app.request("/v1/directory/bob", { method: "PUT", headers: put, body: bundle });
    const s = await session();
    const template = await seal(s.a, "x".repeat(1024));
    let i = 0;
    const unique = () => {
      const e = template.slice();
      new DataView(e.buffer).setUint32(e.length - 4, i++);
      return e;
    };
    const body = () => JSON.stringify({ to: "bob", envelope: base64url.encode(unique()) });
    const now = Date.now();
    const e = unique();
    const leaf = receiptBody({ id: envelopeId(e), to: "bob", envelopeHash: sha256(e), at: now });
    const twenty = Array.from({ length: 20 }, () => {
      const x = unique();
      return receiptBody({ id: envelopeId(x), to: "bob", envelopeHash: sha256(x), at: now });
    });
    const text = body();
    const pkcs8 = new Uint8Array([...ED25519_PKCS8, ...randomBytes(32)]);

    /** A step, and how many deposits one call of it serves (1 unless given). */
    const deposit: [string, () => unknown, number?][] = [
      [
        "deposit, whole route in memory (app.request)",
        () => app.request("/v1/messages", { method: "POST", headers: put, body: body() }),
      ],
      [
        "– per-IP rate-limit row (one write, shared by a turn's requests under load)",
        () => store.addHits([{ key: "write:x", windowMs: 60_000, add: 1 }], now),
      ],
      [
        "– JSON parse + schema + base64url",
        () => base64url.decode(DepositRequest.parse(JSON.parse(text)).envelope),
      ],
      ["– envelope decode + id + hash", () => [decodeEnvelope(e), envelopeId(e), sha256(e)]],
      ["– recipient lookup (getEntry)", () => store.getEntry("bob")],
      [
        "– receipt alone (a batch of one: one Ed25519 signature)",
        () => signer.signReceipts([leaf]),
      ],
      [
        "– receipts of a batch of 20, per deposit (one signature, 20 audit paths)",
        async () => {
          await signer.signReceipts(twenty);
          return undefined;
        },
        20,
      ],
      [
        "– – WebCrypto: PKCS#8 import of an Ed25519 key, for reference",
        () => crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]),
      ],
      [
        "– store.deposit: quota count + insert + Merkle append, one transaction",
        () => {
          const x = unique();
          const id = envelopeId(x);
          const l = receiptBody({ id, to: "bob", envelopeHash: sha256(x), at: now });
          const m = { id, to: "bob", envelope: x, at: now, expires: now + 1e9, receipt: leaf };
          return store.deposit(m, l, 1e9);
        },
      ],
    ];
    // The reader's inbox holds at least 50 messages, whatever `n` was above.
    for (let k = 0; k < 50; k++)
      await app.request("/v1/messages", { method: "POST", headers: put, body: body() });
    const path = "/v1/inbox?limit=50";
    const seed = user.account.identitySeed.subarray(0, 32);
    const headers = signedHeaders({
      seed,
      relayKey: signer.edPublic,
      name: "bob",
      method: "GET",
      path,
      count: n + 1,
    });
    let h = 0;
    const signed = requestBody({
      method: "GET",
      path,
      name: "bob",
      time: now,
      nonce: new Uint8Array(16),
      body: new Uint8Array(0),
      relayKey: signer.edPublic,
    });
    const sig = await ed25519.sign(seed, Context.request, signed);
    const edPublic = user.signer.publicKey.subarray(0, 32);
    const log = new RelayLog(store, signer, Date.now);
    const fetch: [string, () => unknown][] = [
      [
        "inbox fetch of 50, whole route in memory (app.request)",
        async () => (await app.request(path, { headers: headers[h++]! })).text(),
      ],
      ["– nonce row (autocommit write)", () => store.useNonce(`n${h++}:${now}`, now + 1e6, now)],
      [
        "– Ed25519 request verification (node:crypto, key imported once, as the route does)",
        () => edVerify(edPublic, Context.request, signed, sig),
      ],
      ["– store.fetch of 50", () => store.fetch("bob", 50, Date.now())],
      [
        "– 50 inclusion proofs, as the route asks for them (RelayLog.proofs, one node read)",
        async () => {
          const size = await store.logSize();
          await log.proofs(
            Array.from({ length: 50 }, (_, k) => size - 50 + k),
            size,
          );
        },
      ],
    ];
    const rows: Row[] = [];
    for (const [name, f, per = 1] of [...deposit, ...fetch]) {
      const ms = (await msPerCall(f, n)) / per;
      rows.push({ measure: `breakdown: ${name}`, unit: "ms", ours: single(ms) });
    }
    rows.push(...(await fsync(dir, n)));
    return rows;
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** What durability costs on this disk: one small insert, with and without an fsync. */
async function fsync(dir: string, n: number): Promise<Row[]> {
  const db = new Database(join(dir, "fsync.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.exec("CREATE TABLE t (v BLOB)");
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    const v = new Uint8Array(1200);
    const rows: Row[] = [];
    for (const mode of ["FULL", "NORMAL"]) {
      db.pragma(`synchronous = ${mode}`);
      const ms = await msPerCall(() => insert.run(v), n);
      rows.push({
        measure: `breakdown: – a bare SQLite insert, WAL, synchronous = ${mode}`,
        unit: "ms",
        ours: single(ms),
      });
    }
    return rows;
  } finally {
    db.close();
  }
}
