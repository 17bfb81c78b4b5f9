/**
 * The plaintext of an account backup (docs/protocol.md §14.3): the account's records as
 * one JSON document, checked field by field, then by the rules a schema cannot state. The payload is authenticated, but only by
 * whoever knows the backup password, so a restore still trusts nothing it has not
 * checked: every field has a type and a bound, and unknown fields are BAD_ENCODING.
 */
import { z } from "zod";
import type { AccountRecord } from "./account.js";
import { bundleSigned, decodeBundle } from "./bundle.js";
import { equal, toHex } from "./bytes.js";
import type { ContactRecord } from "./contacts.js";
import { SESSION_ID_LENGTH } from "./envelope.js";
import { fail } from "./errors.js";
import { addressOf, checkName, checkRelayUrl } from "./identity.js";
import * as kem from "./kem.js";
import { MAX_PQ_KEYS, MAX_SKIPPED_KEYS, type RatchetState } from "./ratchet.js";
import type { MessageRecord, OutboxItem, PendingItem } from "./records.js";
import type { RelayPin } from "./relay-client.js";
import { HYBRID_PUBLIC_LENGTH, HYBRID_SECRET_LENGTH, HybridSigner } from "./sign.js";

/** The `format` field of every backup payload. */
export const BACKUP_FORMAT = "secure-msg/v1/backup";

const bytes = (len?: number, max = 16 * 1024 * 1024) =>
  z.custom<Uint8Array>(
    (b) => b instanceof Uint8Array && (len === undefined ? b.length <= max : b.length === len),
    "bytes of the wrong type or length",
  );
const key32 = bytes(32);
const uint = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const u32 = z.number().int().min(0).max(0xffffffff);
/** -1 before a direction's first chain (protocol/ratchet.ts). */
const epoch = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);
const text = (max: number) => z.string().max(max);
const hex = z.string().regex(/^(?:[0-9a-f]{2})+$/);
const nullable = <T extends z.ZodType>(t: T) => t.nullable();

const prekey = z.strictObject({
  id: u32.min(1),
  seed: bytes(kem.SECRET_KEY_LENGTH),
  publicKey: bytes(kem.PUBLIC_KEY_LENGTH),
  created: uint,
  expires: uint,
  seen: z.array(hex).max(2000),
});

const account = z.strictObject({
  v: z.literal(1),
  name: text(32),
  relay: text(2048),
  identitySeed: bytes(HYBRID_SECRET_LENGTH),
  created: uint,
  prekeys: z.array(prekey).min(1).max(64),
  bundle: bytes(undefined, 64 * 1024),
  published: bytes(undefined, 64 * 1024).optional(),
});

const contact = z.strictObject({
  address: text(2100),
  name: text(32),
  relay: text(2048),
  identityKey: bytes(HYBRID_PUBLIC_LENGTH),
  bundle: nullable(bytes(undefined, 64 * 1024)),
  verified: z.boolean(),
  added: uint,
  // Not restored (§14.4): a restored contact has no sending session.
  session: nullable(hex),
});

const ratchetState = z.strictObject({
  sessionId: bytes(SESSION_ID_LENGTH),
  ad: bytes(undefined, 8 * 1024),
  rk: key32,
  dhs: nullable(z.strictObject({ secretKey: key32, publicKey: key32 })),
  dhr: nullable(key32),
  sendCk: nullable(key32),
  sendEpoch: epoch,
  ns: uint,
  pn: uint,
  recvCk: nullable(key32),
  recvEpoch: epoch,
  nr: uint,
  skipped: z.array(z.strictObject({ epoch: uint, n: uint, key: key32 })).max(MAX_SKIPPED_KEYS),
  myPq: z.array(z.strictObject({ id: uint, seed: bytes(kem.SECRET_KEY_LENGTH) })).max(MAX_PQ_KEYS),
  nextPqId: uint,
  peerPq: nullable(z.strictObject({ id: uint, publicKey: bytes(kem.PUBLIC_KEY_LENGTH) })),
  pqSince: uint,
  pqAt: uint,
  rootPqPending: z.boolean(),
  announcePending: z.boolean(),
  sendPqChain: z.boolean(),
});

// `retired` is not part of the format: every restored session is retired (§14.4).
const session = z.strictObject({ peer: text(2100), created: uint, state: ratchetState });

const relay = z.strictObject({
  url: text(2048),
  hybrid: bytes(HYBRID_PUBLIC_LENGTH),
  ed25519: key32,
  checkpoint: z.strictObject({ size: uint, root: key32 }).optional(),
});

const message = z.strictObject({
  id: hex,
  peer: text(2100),
  direction: z.enum(["in", "out"]),
  text: z.string(),
  at: uint,
  seq: uint.min(1),
  state: z.enum(["queued", "sent", "failed"]).optional(),
  error: text(1000).optional(),
  errorCode: text(64).optional(),
});

const outbox = z.strictObject({
  id: hex,
  seq: uint.min(1),
  to: text(32),
  relay: text(2048),
  envelope: bytes(),
  created: uint,
  attempts: uint,
});

const pending = z.strictObject({
  id: hex,
  envelope: bytes(),
  received: uint,
  reason: text(64).optional(),
});

export const BackupPayloadSchema = z.strictObject({
  format: z.literal(BACKUP_FORMAT),
  created: uint,
  account,
  contacts: z.array(contact),
  relays: z.array(relay),
  sessions: z.array(session),
  messages: z.array(message),
  outbox: z.array(outbox),
  pending: z.array(pending),
});

/** What a backup holds; the records as the keystore stores them (§8.3). */
export interface BackupPayload {
  format: typeof BACKUP_FORMAT;
  /** When the backup was made (ms since the epoch). */
  created: number;
  account: AccountRecord;
  contacts: ContactRecord[];
  relays: RelayPin[];
  sessions: { peer: string; created: number; state: RatchetState }[];
  messages: MessageRecord[];
  outbox: OutboxItem[];
  pending: PendingItem[];
}

// The schema and the records must not drift apart: a record field the schema does not
// know would be refused at restore (strict), and this fails to compile first.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: Same<z.infer<typeof BackupPayloadSchema>, BackupPayload> = true;
void sameShape;

const bad = (what: string): never => fail("BAD_ENCODING", `backup: ${what}`);

/**
 * Schema, then the rules a schema cannot state (§14.3); BAD_ENCODING, or INVALID_ARGUMENT
 * from a name or relay URL check, or UNSUPPORTED_VERSION from a bundle (the caller reports
 * all as BAD_ENCODING).
 */
export async function checkPayload(value: unknown): Promise<BackupPayload> {
  const r = BackupPayloadSchema.safeParse(value);
  if (!r.success) return bad(`invalid field ${r.error.issues[0]?.path.join(".") || "payload"}`);
  const p = r.data as BackupPayload;
  const a = p.account;
  checkName(a.name);
  if (a.relay !== "") checkRelayUrl(a.relay);
  const b = decodeBundle(a.bundle);
  const signer = await HybridSigner.fromSeed(a.identitySeed);
  const own = signer.publicKey;
  signer.wipe();
  if (
    !equal(b.identityKey, own) ||
    b.name !== a.name ||
    b.relay !== a.relay ||
    !(await bundleSigned(b))
  )
    bad("the account's bundle is not its own");
  const unique = (what: string, keys: string[]) => {
    if (new Set(keys).size !== keys.length) bad(`duplicate ${what}`);
  };
  unique(
    "prekey",
    a.prekeys.map((k) => String(k.id)),
  );
  unique(
    "contact",
    p.contacts.map((c) => c.address),
  );
  unique(
    "relay",
    p.relays.map((x) => x.url),
  );
  unique(
    "session",
    p.sessions.map((s) => toHex(s.state.sessionId)),
  );
  unique(
    "message",
    p.messages.map((m) => m.id),
  );
  unique(
    "message position",
    p.messages.map((m) => String(m.seq)),
  );
  unique(
    "outbox item",
    p.outbox.map((o) => o.id),
  );
  unique(
    "pending item",
    p.pending.map((x) => x.id),
  );
  const contacts = new Set(p.contacts.map((c) => c.address));
  for (const c of p.contacts) {
    if (c.address !== addressOf(c.name, c.relay)) bad("a contact's address does not match");
    if (equal(c.identityKey, own)) bad("a contact with the account's own identity");
    // send() starts a session from the stored bundle: it must be the pinned identity's,
    // or a restored contact would show one fingerprint and encrypt to another key.
    if (c.bundle) {
      const cb = decodeBundle(c.bundle);
      if (
        !equal(cb.identityKey, c.identityKey) ||
        addressOf(cb.name, cb.relay) !== c.address ||
        !(await bundleSigned(cb))
      )
        bad("a contact's bundle is not its pinned identity's");
    }
  }
  for (const s of p.sessions) if (!contacts.has(s.peer)) bad("a session with no contact");
  const ids = new Set(p.messages.map((m) => m.id));
  for (const o of p.outbox) if (!ids.has(o.id)) bad("an outbox item with no message");
  return p;
}
