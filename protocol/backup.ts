/**
 * Account backup (docs/protocol.md §14): every record needed to restore an account in one
 * file, encrypted under a backup password with the keystore's primitives (Argon2id, then
 * AES-256-GCM).
 *
 *     magic "SMSGBKP\n" || 0x01 || 0x06 || m || t || p || salt || nonce || check
 *       || bytes32(Seal(K, nonce, payload, "secure-msg/v1/backup" || header))
 *
 * A restore writes a new keystore (its own DEK and password) in one atomic write, and
 * retires every restored session: a backup is an older copy of the ratchet state, and
 * sending from it would repeat AES-GCM keys and nonces (§8.3, §14.4).
 */

import { ACCOUNT_KEY } from "./account.js";
import * as aead from "./aead.js";
import { dearmor } from "./armor.js";
import { BACKUP_FORMAT, type BackupPayload, checkPayload } from "./backup-schema.js";
import {
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
import { addressOf, fingerprint, formatFingerprint } from "./identity.js";
import { hkdf, Label } from "./kdf.js";
import {
  checkParams,
  DEFAULT_KDF,
  deriveKek,
  fromJson,
  type KdfParams,
  Keystore,
  toJson,
} from "./keystore.js";
import { Records } from "./records.js";
import { HybridSigner } from "./sign.js";
import { MemoryStorage, type StorageAdapter } from "./storage.js";
import { checkVersion, TYPE_BACKUP, VERSION } from "./version.js";

export { BACKUP_FORMAT, type BackupPayload };

/** The first 8 bytes of every backup file: "SMSGBKP" and LF (§14.1). */
export const BACKUP_MAGIC = utf8("SMSGBKP\n");
const SALT_LENGTH = 16;
const CHECK_LENGTH = 16;
/** magic, version, type, m, t, p, salt, nonce, check. */
export const BACKUP_HEADER_LENGTH = 8 + 2 + 12 + SALT_LENGTH + aead.NONCE_LENGTH + CHECK_LENGTH;
/** The largest ciphertext a reader accepts (64 MiB): a damaged length allocates no more. */
export const MAX_BACKUP_BYTES = 64 * 1024 * 1024;

export interface BackupHeader {
  params: KdfParams;
  salt: Uint8Array;
  nonce: Uint8Array;
  /** HKDF(Argon2id output, "secure-msg/v1/backup/check"): tells a wrong password apart. */
  check: Uint8Array;
}

function encodeHeader(h: BackupHeader): Uint8Array {
  return new Writer()
    .raw(BACKUP_MAGIC)
    .u8(VERSION)
    .u8(TYPE_BACKUP)
    .u32(h.params.m)
    .u32(h.params.t)
    .u32(h.params.p)
    .raw(h.salt, SALT_LENGTH)
    .raw(h.nonce, aead.NONCE_LENGTH)
    .raw(h.check, CHECK_LENGTH)
    .finish();
}

/**
 * Splits a backup file into its header and ciphertext (§14.1), strictly: a wrong magic or
 * type, parameters out of bounds, a bad length or trailing bytes are BAD_ENCODING, an
 * unknown version UNSUPPORTED_VERSION. Nothing is decrypted here.
 */
export function decodeBackup(bytes: Uint8Array): {
  header: BackupHeader;
  headerBytes: Uint8Array;
  ciphertext: Uint8Array;
} {
  if (!(bytes instanceof Uint8Array)) fail("INVALID_ARGUMENT", "backup must be a Uint8Array");
  const r = new Reader(bytes, "backup");
  if (!equal(r.raw(BACKUP_MAGIC.length), BACKUP_MAGIC))
    fail("BAD_ENCODING", "not a SECURE-MSG backup file");
  checkVersion(r.u8());
  if (r.u8() !== TYPE_BACKUP) fail("BAD_ENCODING", "backup: wrong object type");
  const params = checkParams({ m: r.u32(), t: r.u32(), p: r.u32() }, "BAD_ENCODING", "backup");
  const header = {
    params,
    salt: r.raw(SALT_LENGTH),
    nonce: r.raw(aead.NONCE_LENGTH),
    check: r.raw(CHECK_LENGTH),
  };
  const headerBytes = bytes.slice(0, r.offset);
  const ciphertext = r.bytes32(MAX_BACKUP_BYTES);
  r.end();
  if (ciphertext.length < aead.TAG_LENGTH) fail("BAD_ENCODING", "backup: ciphertext too short");
  return { header, headerBytes, ciphertext };
}

/**
 * A file as a reader got it: the bytes when they start with the magic, else its text when
 * it is UTF-8 (BACKUP armor, §7), else the bytes (which then fail as not a backup).
 */
export function backupInput(file: Uint8Array): Uint8Array | string {
  if (equal(file.subarray(0, BACKUP_MAGIC.length), BACKUP_MAGIC)) return file;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(file);
  } catch {
    return file;
  }
}

/** The payload key and the password check, both from one Argon2id run (§14.2). */
async function deriveKeys(
  password: string,
  salt: Uint8Array,
  params: KdfParams,
): Promise<{ key: Uint8Array; check: Uint8Array }> {
  const ikm = await deriveKek(password, salt, params);
  try {
    return {
      key: hkdf(ikm, new Uint8Array(0), Label.backupKey, 32),
      check: hkdf(ikm, new Uint8Array(0), Label.backupCheck, CHECK_LENGTH),
    };
  } finally {
    wipe(ikm);
  }
}

const aad = (headerBytes: Uint8Array) => concat(utf8(Label.backupAad), headerBytes);

/** Encrypts a payload into a backup file. Fresh salt and nonce: each key seals once. */
export async function sealBackup(
  payload: BackupPayload,
  password: string,
  kdf: KdfParams = DEFAULT_KDF,
): Promise<Uint8Array> {
  checkParams(kdf, "INVALID_ARGUMENT", "backup");
  const salt = randomBytes(SALT_LENGTH);
  const nonce = randomBytes(aead.NONCE_LENGTH);
  const { key, check } = await deriveKeys(password, salt, kdf);
  // The encoded payload holds every secret of the account: wiped once sealed.
  const plaintext = utf8(toJson(payload));
  try {
    const header = encodeHeader({ params: kdf, salt, nonce, check });
    const ct = await aead.seal(key, nonce, plaintext, aad(header));
    return new Writer().raw(header).bytes32(ct).finish();
  } finally {
    wipe(key, plaintext);
  }
}

/**
 * Decrypts and checks a backup file (binary, or `BACKUP` armor as text). A password that
 * does not give the stored check is WRONG_PASSWORD; a file whose check matches but whose
 * ciphertext does not open was changed after it was written: TAMPERED. A payload that
 * opens but does not follow §14.3 is BAD_ENCODING.
 */
export async function openBackup(
  input: Uint8Array | string,
  password: string,
): Promise<BackupPayload> {
  const bytes = typeof input === "string" ? dearmor(input, "BACKUP").data : input;
  const { header, headerBytes, ciphertext } = decodeBackup(bytes);
  const { key, check } = await deriveKeys(password, header.salt, header.params);
  let plaintext: Uint8Array;
  try {
    // A damaged header derives another check too: it cannot be told from a wrong password.
    if (!equal(check, header.check)) fail("WRONG_PASSWORD", "wrong backup password");
    plaintext = await aead.open(key, header.nonce, ciphertext, aad(headerBytes), "backup");
  } finally {
    wipe(key, check);
  }
  try {
    // Secrets in the parsed payload live on in JS strings and arrays; JS cannot wipe them.
    return await checkPayload(fromJson(fromUtf8(plaintext)));
  } catch (e) {
    // A bundle inside the payload of another version is a payload fault (§14.3), not a
    // newer backup file: UNSUPPORTED_VERSION here would tell the user to upgrade.
    if (
      e instanceof SyntaxError ||
      ProtocolError.is(e, "INVALID_ARGUMENT") ||
      ProtocolError.is(e, "UNSUPPORTED_VERSION")
    )
      return fail("BAD_ENCODING", "backup: the payload is not valid", e);
    throw e;
  } finally {
    wipe(plaintext);
  }
}

/** Reads every record of an account into a payload, in a canonical order. */
export async function collect(records: Records, now: number): Promise<BackupPayload> {
  const account = await records.account();
  if (!account) return fail("NO_ACCOUNT", "keystore has no account");
  const by =
    <T>(k: (x: T) => string) =>
    (x: T, y: T) =>
      k(x) < k(y) ? -1 : k(x) > k(y) ? 1 : 0;
  return {
    format: BACKUP_FORMAT,
    created: now,
    account,
    contacts: (await records.contacts()).sort(by((c) => c.address)),
    relays: (await records.relays()).sort(by((r) => r.url)),
    sessions: (await records.sessions())
      .map((s) => ({ peer: s.peer, created: s.created, state: s.state }))
      .sort(by((s) => toHex(s.state.sessionId))),
    messages: await records.history(),
    outbox: await records.outbox(),
    pending: await records.pending(),
  };
}

/** An encrypted backup of the account in `records` (Client.exportBackup). */
export async function exportBackup(
  records: Records,
  password: string,
  now: number,
  kdf?: KdfParams,
): Promise<Uint8Array> {
  return sealBackup(await collect(records, now), password, kdf);
}

export interface Restored {
  address: string;
  fingerprint: string;
  contacts: number;
  messages: number;
  /** Sessions restored, every one retired (receive only). */
  sessions: number;
  /** The new keystore's DEK, to open a Client with (`Client.resume`); wipe it after. */
  dek: Uint8Array;
}

/**
 * Restores a backup into empty storage, as a new keystore protected by `newPassword`
 * (default: the backup password), in one atomic write. Every session is retired and no
 * contact keeps a sending session, so the first message to each contact starts a new
 * session (§14.4). Storage that already holds a keystore is ACCOUNT_EXISTS, untouched.
 */
export async function restoreBackup(
  storage: StorageAdapter,
  input: Uint8Array | string,
  password: string,
  opts: { newPassword?: string; kdf?: KdfParams } = {},
): Promise<Restored> {
  if (await Keystore.exists(storage)) fail("ACCOUNT_EXISTS", "a keystore already exists here");
  const p = await openBackup(input, password);
  // Built in memory first, then copied in one write: a crash leaves all or nothing.
  const staging = new MemoryStorage();
  const ks = await Keystore.create(staging, opts.newPassword ?? password, opts.kdf, [
    { key: ACCOUNT_KEY, value: p.account },
  ]);
  try {
    const batch = (await Records.open(ks)).batch();
    for (const c of p.contacts) batch.contact({ ...c, session: null });
    for (const r of p.relays) batch.relay(r);
    for (const s of p.sessions) batch.session(s.state.sessionId, { ...s, retired: true });
    for (const m of p.messages) batch.restoreMessage(m);
    for (const o of p.outbox) batch.outbox(o.id, o);
    for (const x of p.pending) batch.pending(x.id, x);
    await batch.commit();
    if (await Keystore.exists(storage)) fail("ACCOUNT_EXISTS", "a keystore already exists here");
    await storage.write([...staging.data].map(([key, value]) => ({ key, value })));
    const signer = await HybridSigner.fromSeed(p.account.identitySeed);
    const fp = formatFingerprint(fingerprint(signer.publicKey));
    signer.wipe();
    return {
      address: addressOf(p.account.name, p.account.relay),
      fingerprint: fp,
      contacts: p.contacts.length,
      messages: p.messages.length,
      sessions: p.sessions.length,
      dek: ks.exportDek(),
    };
  } finally {
    ks.lock();
  }
}
