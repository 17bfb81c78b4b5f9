/**
 * The relay's signing keys (DESIGN §4): a hybrid key for directory entries and log
 * checkpoints, and an Ed25519 key for receipts (one signature per batch of deposits).
 * They live in one key file,
 * created on first start with mode 0600 and shared by every relay process of a
 * deployment. Clients pin both public keys on first use.
 */
import type { KeyObject } from "node:crypto";
import { chmod, link, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { base64url, randomBytes, wipe } from "../protocol/bytes.js";
import { receiptBatch } from "../protocol/receipt.js";
import { Context } from "../protocol/relay-api.js";
import { relayFingerprint } from "../protocol/relay-client.js";
import {
  ED25519_SECRET_LENGTH,
  ed25519,
  HYBRID_SECRET_LENGTH,
  HybridSigner,
} from "../protocol/sign.js";
import { edSign, privateKey } from "./ed25519.js";

interface KeyFile {
  version: 1;
  hybrid: string;
  ed25519: string;
}

export class RelaySigner {
  /** The receipt key, imported once: receipts are signed for every batch of deposits (ed25519.ts). */
  readonly #receiptKey: KeyObject;

  private constructor(
    private readonly hybrid: HybridSigner,
    edSecret: Uint8Array,
    readonly edPublic: Uint8Array,
  ) {
    this.#receiptKey = privateKey(edSecret);
    wipe(edSecret); // a copy (fromSeeds): the key object holds the secret now
  }

  get hybridPublic(): Uint8Array {
    return this.hybrid.publicKey;
  }

  /** The relay's fingerprint, over both its keys (§13.2). */
  get fingerprint(): string {
    return relayFingerprint({ hybrid: this.hybrid.publicKey, ed25519: this.edPublic });
  }

  static async fromSeeds(hybridSeed: Uint8Array, edSeed: Uint8Array): Promise<RelaySigner> {
    return new RelaySigner(
      await HybridSigner.fromSeed(hybridSeed),
      edSeed.slice(),
      await ed25519.publicKey(edSeed),
    );
  }

  static generate(): Promise<RelaySigner> {
    return RelaySigner.fromSeeds(
      randomBytes(HYBRID_SECRET_LENGTH),
      randomBytes(ED25519_SECRET_LENGTH),
    );
  }

  /**
   * Loads the key file, or creates it (mode 0600, exclusive create) when missing. A key
   * file readable by group or others is refused, as ssh refuses a private key.
   */
  static async loadOrCreate(path: string): Promise<{ signer: RelaySigner; created: boolean }> {
    try {
      const s = await stat(path);
      if ((s.mode & 0o077) !== 0)
        throw new Error(`key file ${path} is readable by others: chmod 600 it`);
      return {
        signer: await RelaySigner.parse(await readFile(path, "utf8"), path),
        created: false,
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    const hybrid = randomBytes(HYBRID_SECRET_LENGTH);
    const ed = randomBytes(ED25519_SECRET_LENGTH);
    const file: KeyFile = {
      version: 1,
      hybrid: base64url.encode(hybrid),
      ed25519: base64url.encode(ed),
    };
    // Write a private temp file completely, then link it into place: link() fails if the
    // key file exists, so of several processes starting at once exactly one key wins, and
    // nobody ever reads a half-written file.
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, `${JSON.stringify(file)}\n`, { mode: 0o600, flag: "wx" });
    try {
      await chmod(tmp, 0o600);
      await link(tmp, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return RelaySigner.loadOrCreate(path);
      throw e;
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    return { signer: await RelaySigner.fromSeeds(hybrid, ed), created: true };
  }

  private static async parse(text: string, path: string): Promise<RelaySigner> {
    try {
      const f = JSON.parse(text) as KeyFile;
      if (f.version !== 1) throw new Error("unknown key file version");
      return await RelaySigner.fromSeeds(base64url.decode(f.hybrid), base64url.decode(f.ed25519));
    } catch (e) {
      throw new Error(`key file ${path} is damaged`, { cause: e });
    }
  }

  /**
   * The receipts of a batch of deposits (§13.2, protocol/receipt.ts): one Ed25519
   * signature over the batch's Merkle root, and each body's audit path.
   */
  signReceipts(bodies: Uint8Array[]): Uint8Array[] {
    const batch = receiptBatch(bodies);
    return batch.receipts(edSign(this.#receiptKey, Context.receipt, batch.body));
  }
  signEntry(body: Uint8Array): Promise<Uint8Array> {
    return this.hybrid.sign(Context.directory, body);
  }
  signCheckpoint(body: Uint8Array): Promise<Uint8Array> {
    return this.hybrid.sign(Context.checkpoint, body);
  }

  toJSON(): string {
    return "[RelaySigner]";
  }
}
