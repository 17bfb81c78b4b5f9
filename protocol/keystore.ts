/**
 * The keystore (docs/protocol.md §8): everything a profile keeps, encrypted at rest.
 *
 * Argon2id(password, salt, params) gives a KEK. The KEK wraps a random 256-bit DEK with
 * AES-256-GCM. The DEK encrypts every record, each with a fresh nonce and with the
 * record's key as AAD, so records cannot be swapped. Changing the password re-wraps the
 * DEK only. The header record `keystore` is the only thing stored in the clear.
 */
import { argon2id } from "hash-wasm";
import * as aead from "./aead.js";
import {
  base64,
  concat,
  equal,
  fromUtf8,
  Reader,
  randomBytes,
  toHex,
  utf8,
  Writer,
  wipe,
} from "./bytes.js";
import { fail, ProtocolError } from "./errors.js";
import { hkdf, hmacSha256, Label } from "./kdf.js";
import type { StorageAdapter, WriteOp } from "./storage.js";
import { checkVersion, TYPE_KEYSTORE_HEADER, TYPE_RECORD, VERSION } from "./version.js";
import * as x25519 from "./x25519.js";

export interface KdfParams {
  /** Memory in KiB. */
  m: number;
  /** Iterations. */
  t: number;
  /** Parallelism. */
  p: number;
}

/** DESIGN default: 64 MiB, 3 passes, 1 lane (about 0.4 s on the reference machine). */
export const DEFAULT_KDF: KdfParams = { m: 65536, t: 3, p: 1 };
/** Bounds on accepted parameters: a corrupted header cannot make us allocate 4 TiB. */
const KDF_LIMITS = { m: [8, 1024 * 1024], t: [1, 16], p: [1, 16] } as const;

export const HEADER_KEY = "keystore";
const SALT_LENGTH = 16;
const WRAPPED_DEK_LENGTH = 32 + aead.TAG_LENGTH;

interface Header {
  params: KdfParams;
  salt: Uint8Array;
  nonce: Uint8Array;
  wrapped: Uint8Array;
}

/** Checks Argon2id parameters against the accepted bounds (§8.2); also used by backup.ts. */
export function checkParams(
  p: KdfParams,
  code: "INVALID_ARGUMENT" | "BAD_ENCODING",
  what = "keystore",
): KdfParams {
  for (const k of ["m", "t", "p"] as const) {
    const [lo, hi] = KDF_LIMITS[k];
    if (!Number.isInteger(p[k]) || p[k] < lo || p[k] > hi)
      fail(code, `${what}: Argon2id ${k} out of range`);
  }
  if (p.m < 8 * p.p) fail(code, `${what}: Argon2id memory must be at least 8 KiB per lane`);
  return p;
}

function paramBytes(params: KdfParams, salt: Uint8Array): Uint8Array {
  return new Writer()
    .u8(VERSION)
    .u8(TYPE_KEYSTORE_HEADER)
    .u32(params.m)
    .u32(params.t)
    .u32(params.p)
    .raw(salt)
    .finish();
}

export function encodeHeader(h: Header): Uint8Array {
  return concat(paramBytes(h.params, h.salt), h.nonce, h.wrapped);
}

export function decodeHeader(bytes: Uint8Array): Header {
  const r = new Reader(bytes, "keystore header");
  checkVersion(r.u8());
  if (r.u8() !== TYPE_KEYSTORE_HEADER) fail("BAD_ENCODING", "keystore header: wrong object type");
  const params = checkParams({ m: r.u32(), t: r.u32(), p: r.u32() }, "BAD_ENCODING");
  const h = {
    params,
    salt: r.raw(SALT_LENGTH),
    nonce: r.raw(aead.NONCE_LENGTH),
    wrapped: r.raw(WRAPPED_DEK_LENGTH),
  };
  r.end();
  return h;
}

/** The stored header: NO_ACCOUNT when missing, CORRUPT_STORE when it does not decode. */
async function readHeader(storage: StorageAdapter): Promise<Header> {
  const bytes = await storage.get(HEADER_KEY);
  if (!bytes) return fail("NO_ACCOUNT", "no keystore here");
  try {
    return decodeHeader(bytes);
  } catch (e) {
    return fail("CORRUPT_STORE", "keystore header is damaged", e);
  }
}

/** Argon2id over the NFC-normalised password (§8.2); also used by backup.ts. */
export async function deriveKek(
  password: string,
  salt: Uint8Array,
  params: KdfParams,
): Promise<Uint8Array> {
  if (typeof password !== "string" || password.length === 0)
    fail("INVALID_ARGUMENT", "password must be a non-empty string");
  return argon2id({
    password: utf8(password.normalize("NFC")),
    salt,
    iterations: params.t,
    parallelism: params.p,
    memorySize: params.m,
    hashLength: 32,
    outputType: "binary",
  });
}

async function wrap(dek: Uint8Array, password: string, params: KdfParams): Promise<Header> {
  const salt = randomBytes(SALT_LENGTH);
  const kek = await deriveKek(password, salt, params);
  const nonce = randomBytes(aead.NONCE_LENGTH);
  const wrapped = await aead.seal(
    kek,
    nonce,
    dek,
    concat(utf8(Label.dekWrap), paramBytes(params, salt)),
  );
  wipe(kek);
  return { params, salt, nonce, wrapped };
}

async function unwrap(h: Header, password: string): Promise<Uint8Array> {
  const kek = await deriveKek(password, h.salt, h.params);
  try {
    return await aead.open(
      kek,
      h.nonce,
      h.wrapped,
      concat(utf8(Label.dekWrap), paramBytes(h.params, h.salt)),
    );
  } catch (e) {
    // GCM cannot tell a wrong password from a corrupted header; the password is far likelier.
    return fail("WRONG_PASSWORD", "wrong password", e);
  } finally {
    wipe(kek);
  }
}

// --- record values: JSON with byte arrays as {"$b": base64} ------------------------------

export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (v instanceof Uint8Array ? { $b: base64.encode(v) } : v));
}

export function fromJson(text: string): unknown {
  return JSON.parse(text, (_k, v) =>
    v !== null && typeof v === "object" && typeof v.$b === "string" && Object.keys(v).length === 1
      ? base64.decode(v.$b)
      : v,
  );
}

export function recordAad(key: string): Uint8Array {
  return utf8(Label.recordAad + key);
}

/** A write in a batch: a JSON-able value (byte arrays allowed) or null to delete. */
export interface RecordOp {
  key: string;
  value: unknown;
}

export class Keystore {
  #dek: Uint8Array | null;
  #key: CryptoKey;
  #idKey: Uint8Array | null = null;

  private constructor(
    readonly storage: StorageAdapter,
    dek: Uint8Array,
    key: CryptoKey,
  ) {
    this.#dek = dek;
    this.#key = key;
  }

  static async exists(storage: StorageAdapter): Promise<boolean> {
    return (await storage.get(HEADER_KEY)) !== undefined;
  }

  /** Creates a keystore, writing its header and any `initial` records in one atomic batch. */
  static async create(
    storage: StorageAdapter,
    password: string,
    params: KdfParams = DEFAULT_KDF,
    initial: RecordOp[] = [],
  ): Promise<Keystore> {
    checkParams(params, "INVALID_ARGUMENT");
    if (await Keystore.exists(storage)) fail("ACCOUNT_EXISTS", "a keystore already exists here");
    const dek = randomBytes(32);
    const header = await wrap(dek, password, params);
    const ks = new Keystore(storage, dek, await aead.importAeadKey(dek));
    const records = await ks.sealAll(initial);
    await storage.write([{ key: HEADER_KEY, value: encodeHeader(header) }, ...records]);
    return ks;
  }

  static async unlock(storage: StorageAdapter, password: string): Promise<Keystore> {
    const dek = await unwrap(await readHeader(storage), password);
    return new Keystore(storage, dek, await aead.importAeadKey(dek));
  }

  /** Re-opens with a DEK kept in memory by a trusted context (the extension's session storage). */
  static async fromDek(storage: StorageAdapter, dek: Uint8Array): Promise<Keystore> {
    const ks = new Keystore(storage, dek.slice(), await aead.importAeadKey(dek));
    // Prove the DEK belongs to this store before anyone writes with it.
    const keys = (await storage.list("")).filter((k) => k !== HEADER_KEY);
    if (keys[0] !== undefined) await ks.get(keys[0]);
    return ks;
  }

  /**
   * A record key that does not reveal what it names: HMAC(HKDF(DEK), kind || 0 || name),
   * so a thief of the disk learns neither contact addresses nor message or session ids.
   */
  blind(kind: string, name: string): string {
    if (!this.#dek) return fail("LOCKED", "keystore is locked");
    this.#idKey ??= hkdf(this.#dek, new Uint8Array(0), Label.recordId, 32);
    return `${kind}/${toHex(hmacSha256(this.#idKey, utf8(`${kind}\0${name}`)).slice(0, 16))}`;
  }

  get locked(): boolean {
    return this.#dek === null;
  }

  exportDek(): Uint8Array {
    if (!this.#dek) return fail("LOCKED", "keystore is locked");
    return this.#dek.slice();
  }

  /** Wipes the DEK from this object. JS cannot promise other copies are gone. */
  lock(): void {
    wipe(this.#dek ?? undefined, this.#idKey ?? undefined);
    this.#dek = null;
    this.#idKey = null;
    // Session keys held in WebCrypto for speed (x25519.ts) go with the DEK.
    x25519.clearCache();
  }

  async changePassword(
    oldPassword: string,
    newPassword: string,
    params?: KdfParams,
  ): Promise<void> {
    if (!this.#dek) return fail("LOCKED", "keystore is locked");
    const header = await readHeader(this.storage);
    const dek = await unwrap(header, oldPassword);
    if (!this.#dek || !equal(dek, this.#dek)) fail("WRONG_PASSWORD", "wrong password");
    const next = await wrap(
      dek,
      newPassword,
      checkParams(params ?? header.params, "INVALID_ARGUMENT"),
    );
    wipe(dek);
    await this.storage.write([{ key: HEADER_KEY, value: encodeHeader(next) }]);
  }

  async seal(key: string, value: unknown): Promise<Uint8Array> {
    if (!this.#dek) return fail("LOCKED", "keystore is locked");
    const nonce = randomBytes(aead.NONCE_LENGTH);
    const ct = await aead.seal(this.#key, nonce, utf8(toJson(value)), recordAad(key));
    return concat(Uint8Array.of(VERSION, TYPE_RECORD), nonce, ct);
  }

  async open<T>(key: string, bytes: Uint8Array): Promise<T> {
    if (!this.#dek) return fail("LOCKED", "keystore is locked");
    try {
      const r = new Reader(bytes, "record");
      checkVersion(r.u8());
      if (r.u8() !== TYPE_RECORD) fail("BAD_ENCODING", "record: wrong object type");
      const nonce = r.raw(aead.NONCE_LENGTH);
      const ct = r.raw(bytes.length - r.offset);
      r.end();
      const pt = await aead.open(this.#key, nonce, ct, recordAad(key), `record ${key}`);
      return fromJson(fromUtf8(pt)) as T;
    } catch (e) {
      if (ProtocolError.is(e) || e instanceof SyntaxError)
        return fail("CORRUPT_STORE", `record ${key} is damaged or was moved`, e);
      throw e;
    }
  }

  async get<T>(key: string): Promise<T | undefined> {
    if (!this.#dek) return fail("LOCKED", "keystore is locked");
    const bytes = await this.storage.get(key);
    return bytes === undefined ? undefined : this.open<T>(key, bytes);
  }

  list(prefix: string): Promise<string[]> {
    return this.storage.list(prefix);
  }

  private async sealAll(ops: RecordOp[]): Promise<WriteOp[]> {
    const sealed: WriteOp[] = [];
    for (const op of ops) {
      if (op.key === HEADER_KEY) fail("INVALID_ARGUMENT", "the keystore header is not a record");
      sealed.push({
        key: op.key,
        value: op.value === null ? null : await this.seal(op.key, op.value),
      });
    }
    return sealed;
  }

  /** Encrypts and writes all ops in one atomic batch. */
  async write(ops: RecordOp[]): Promise<void> {
    await this.storage.write(await this.sealAll(ops));
  }

  toJSON(): string {
    return "[Keystore]";
  }
}
